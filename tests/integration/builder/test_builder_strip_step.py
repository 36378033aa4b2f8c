"""The strip step of the generated Dockerfile on the real engine, on the 3.11 and the 3.13 base:
extension modules lose their symbols, auditwheel's `*.libs/` are left byte for byte (stripping
them breaks OpenBLAS: docs/benchmarks.md), identical vendored libraries become one hard link, a
file strip refuses stays as it was and is named in the log, `*.pyi` stubs, static libraries and
a package's own test suite (`test/` as joblib names it, not its `testing/` helpers) are gone, and
the tool never reaches the model image. The `dependencies` stage is built alone from a wheel made
here around a real unstripped ELF extension module (SciPy's `_fpumode`)."""

from __future__ import annotations

import base64
import hashlib
import tarfile
import zipfile
from pathlib import Path

import docker
import pytest
import scipy._lib._fpumode as unstripped_extension
from docker.errors import ImageNotFound
from modelbay_builder.build_log import BuildLog
from modelbay_builder.context import STRIP_TOOL_DIR, ContextInputs, write_context
from modelbay_builder.docker_build import follow_build_stream
from modelbay_builder.settings import BuilderSettings

TRIXIE_BASE = "modelbay/python:3.13-trixie"  # scripts/build-python-base-image.sh trixie 3.13
SITE = "/opt/venv/lib/python3*/site-packages"
ELF = Path(unstripped_extension.__file__).read_bytes()
VENDORED = "libgfortran-0aa1b2c3.so.5.0.0"


def _wheel(directory: Path) -> Path:
    files = {
        "stripdemo/__init__.py": b"",
        "stripdemo/_ext.cpython-311-x86_64-linux-gnu.so": ELF,
        "stripdemo/not_elf.so": b"a text file named like a library\n",
        "stripdemo/__init__.pyi": b"x: int\n",
        "stripdemo/lib/libdemo.a": b"!<arch>\n",
        "stripdemo/lib/demo.ini": b"[demo]\n",
        "stripdemo/test/test_demo.py": b"def test_demo(): pass\n",
        "stripdemo/testing/__init__.py": b"",
        f"stripdemo.libs/{VENDORED}": ELF,
        f"otherdemo.libs/{VENDORED}": ELF,
        "stripdemo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: stripdemo\n"
        b"Version: 1.0\n",
        "stripdemo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\n"
        b"Root-Is-Purelib: false\nTag: py3-none-any\n",
    }
    record = []
    for name, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(content)}")
    record.append("stripdemo-1.0.dist-info/RECORD,,")
    path = directory / "stripdemo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
        wheel.writestr("stripdemo-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def _inspect(client: docker.DockerClient, image: str, script: str) -> str:
    output = client.containers.run(image, ["sh", "-c", script], remove=True, network_disabled=True)
    return bytes(output).decode()


@pytest.mark.parametrize("which", ["configured", "trixie"])
def test_the_build_stage_strips_extension_modules_and_leaves_vendored_libraries(
    which: str, base_image: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    base = base_image if which == "configured" else TRIXIE_BASE
    strip_image = BuilderSettings.model_fields["strip_image"].default
    for needed in (base, strip_image):
        try:
            docker_client.images.get(needed)
        except ImageNotFound:
            pytest.fail(f"{needed} is not built: run `make services-up`")
    runtime = tmp_path / "modelbay_runtime-0-py3-none-any.whl"
    runtime.write_bytes(b"unused: only the dependencies stage is built")
    inputs = ContextInputs(
        base_image=base,
        lock=["stripdemo==1.0"],
        python_version="3.11",
        wheels=[_wheel(tmp_path)],
        runtime_wheel=runtime,
        bundle_files=[],
        strip_image=strip_image,
    )
    context = tmp_path / "context.tar"
    with context.open("wb") as out:
        write_context(inputs, out)
    tag = f"modelbay-test/strip-step:{which}"
    log = BuildLog()
    with context.open("rb") as stream:  # the builder's call, up to the dependencies stage
        chunks = docker_client.api.build(
            fileobj=stream, custom_context=True, tag=tag, rm=True, forcerm=True, pull=False,
            network_mode="none", decode=True, target="dependencies",
        )  # fmt: skip
        follow_build_stream(chunks, log)
    try:
        output = _inspect(
            docker_client,
            tag,
            f"cd {SITE} && stat -c '%s %i %n' stripdemo/*.so stripdemo.libs/* otherdemo.libs/*"
            " && echo LISTING && cd stripdemo && find . | sort",
        )
    finally:
        docker_client.images.remove(tag, force=True)
    stats, listing = output.split("LISTING")
    sizes = stats.strip().splitlines()
    size = {line.split()[2]: int(line.split()[0]) for line in sizes if line.count(" ") == 2}
    inode = {line.split()[2]: line.split()[1] for line in sizes if line.count(" ") == 2}
    extension = "stripdemo/_ext.cpython-311-x86_64-linux-gnu.so"
    assert size[extension] < len(ELF), "the extension module kept its symbols"
    assert size[f"stripdemo.libs/{VENDORED}"] == len(ELF), "a *.libs/ library was stripped"
    assert inode[f"stripdemo.libs/{VENDORED}"] == inode[f"otherdemo.libs/{VENDORED}"]
    assert size["stripdemo/not_elf.so"] == len(b"a text file named like a library\n")
    assert "modelbay: left unstripped: " in log.tail(1000)
    files = listing.split()
    assert "./__init__.pyi" not in files
    assert "./__init__.py" in files
    assert "./lib/libdemo.a" not in files
    assert "./lib/demo.ini" in files
    assert "./test" not in files
    assert "./testing/__init__.py" in files
    final_stage = _dockerfile(context).split("\nFROM ")[-1]
    assert STRIP_TOOL_DIR not in final_stage, "the final stage must not copy the strip tool"


def _dockerfile(context: Path) -> str:
    with tarfile.open(context) as tar:
        member = tar.extractfile("Dockerfile")
        assert member is not None
        return member.read().decode()
