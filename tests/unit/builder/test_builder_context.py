"""The build context: layer order, determinism, a dependency step that depends on the lock only."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from modelbay_builder.context import (
    FIXED_MTIME,
    PIP_INSTALL_MARKER,
    ContextInputs,
    lock_file_text,
    render_dockerfile,
    write_context,
)

BASE = "modelbay/python:3.11-bookworm"
WHEEL = "modelbay_runtime-0.1.0-py3-none-any.whl"


def instructions(dockerfile: str) -> list[str]:
    """Dockerfile instructions with continuation lines joined, comments dropped."""
    joined = dockerfile.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


def index_of(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def test_layers_are_ordered_base_dependencies_runtime_bundle() -> None:
    lines = instructions(render_dockerfile(BASE, WHEEL))
    assert lines[0] == f"FROM {BASE} AS dependencies"
    wheelhouse_copy = index_of(lines, "COPY wheelhouse/")
    pip_install = index_of(lines, PIP_INSTALL_MARKER)
    assert wheelhouse_copy < pip_install
    # venv creation and the offline install are one step, hence one layer
    assert "python3 -m venv /opt/venv" in lines[pip_install]
    assert "--no-index" in lines[pip_install]
    assert "-r /tmp/wheelhouse/requirements.lock.txt" in lines[pip_install]

    final_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    assert lines[final_from] == f"FROM {BASE}"
    venv_copy = index_of(lines, "COPY --from=dependencies /opt/venv /opt/venv")
    runtime_copy = index_of(lines, "COPY --from=runtime")
    bundle_copy = index_of(lines, "COPY bundle/ /model/")
    assert final_from < venv_copy < runtime_copy < bundle_copy
    filesystem_steps = [i for i, line in enumerate(lines) if line.startswith(("COPY", "RUN"))]
    assert filesystem_steps[-1] == bundle_copy, "the bundle must be the last layer"


def test_final_stage_runs_the_server_as_non_root_with_a_healthcheck() -> None:
    lines = instructions(render_dockerfile(BASE, WHEEL))
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    assert "USER 10001:10001" in final
    assert "EXPOSE 8080 8081" in final  # REST, and gRPC (MODELBAY_RUNTIME_GRPC_PORT below)
    assert any("MODELBAY_RUNTIME_GRPC_PORT=8081" in line for line in final)
    assert any(line.startswith("HEALTHCHECK") and "/readyz" in line for line in final)
    assert (
        'CMD ["/opt/venv/bin/python", "-m", "modelbay_runtime", "serve", "/model", '
        '"--host", "0.0.0.0", "--port", "8080"]'
    ) in final
    # wheels never reach the final stage: it copies finished directories only
    assert not any("wheelhouse" in line for line in final)
    assert not any(line.startswith("RUN") for line in final)


def test_runtime_is_installed_without_dependencies_from_the_wheel() -> None:
    lines = instructions(render_dockerfile(BASE, WHEEL))
    runtime = lines[index_of(lines, f"/tmp/runtime/{WHEEL}")]
    assert "--no-deps" in runtime
    assert "--no-index" in runtime


def make_inputs(
    root: Path, *, bundle_text: str = "model-v1", lock: tuple[str, ...] = ()
) -> ContextInputs:
    (root / "wheels").mkdir(parents=True, exist_ok=True)
    wheel_a = root / "wheels" / "numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    wheel_b = root / "wheels" / "cloudpickle-3.0.0-py3-none-any.whl"
    wheel_a.write_bytes(b"numpy wheel bytes")
    wheel_b.write_bytes(b"cloudpickle wheel bytes")
    runtime = root / WHEEL
    runtime.write_bytes(b"runtime wheel bytes")
    (root / "bundle" / "code").mkdir(parents=True, exist_ok=True)
    manifest = root / "bundle" / "manifest.json"
    manifest.write_text(bundle_text)
    helper = root / "bundle" / "code" / "helper.py"
    helper.write_text("X = 1\n")
    return ContextInputs(
        base_image=BASE,
        lock=lock or ("numpy==2.0.0", "cloudpickle==3.0.0"),
        python_version="3.11",
        wheels=[wheel_b, wheel_a],
        runtime_wheel=runtime,
        bundle_files=[("manifest.json", manifest), ("code/helper.py", helper)],
    )


def context_bytes(inputs: ContextInputs) -> bytes:
    out = io.BytesIO()
    write_context(inputs, out)
    return out.getvalue()


def members(data: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    found = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar.getmembers():
            content = tar.extractfile(info).read() if info.isfile() else b""  # type: ignore[union-attr]
            found[info.name] = (info, content)
    return found


def test_context_is_byte_identical_whatever_the_files_mtimes(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path)
    first = context_bytes(inputs)
    for path in [*inputs.wheels, inputs.runtime_wheel, *(p for _, p in inputs.bundle_files)]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    assert context_bytes(inputs) == first


def test_context_members_have_fixed_metadata_and_explicit_directories(tmp_path: Path) -> None:
    entries = members(context_bytes(make_inputs(tmp_path)))
    assert {"wheelhouse", "runtime", "bundle", "bundle/code"} <= set(entries)
    for info, _ in entries.values():
        assert info.mtime == FIXED_MTIME
        assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")
        assert info.mode == (0o755 if info.isdir() else 0o644)
    assert entries["bundle/code/helper.py"][1] == b"X = 1\n"
    assert f"runtime/{WHEEL}" in entries


def test_dependency_inputs_do_not_change_with_the_bundle(tmp_path: Path) -> None:
    v1 = members(context_bytes(make_inputs(tmp_path / "a", bundle_text="version 1")))
    v2 = members(context_bytes(make_inputs(tmp_path / "b", bundle_text="version 2")))

    def dependency_part(entries: dict[str, tuple[tarfile.TarInfo, bytes]]) -> dict[str, bytes]:
        return {
            name: content
            for name, (_, content) in entries.items()
            if name.startswith("wheelhouse") or name == "Dockerfile"
        }

    assert dependency_part(v1) == dependency_part(v2)
    assert v1["bundle/manifest.json"][1] != v2["bundle/manifest.json"][1]


def test_lock_file_is_written_from_the_lock_sorted() -> None:
    text = lock_file_text(["numpy==2.0.0", "cloudpickle==3.0.0"], "3.11")
    assert text.splitlines()[1:] == ["cloudpickle==3.0.0", "numpy==2.0.0"]
    assert lock_file_text(["b==1", "a==1"], "3.11") == lock_file_text(["a==1", "b==1"], "3.11")


def test_unsafe_bundle_paths_are_refused(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path)
    evil = ContextInputs(
        base_image=inputs.base_image,
        lock=inputs.lock,
        python_version=inputs.python_version,
        wheels=inputs.wheels,
        runtime_wheel=inputs.runtime_wheel,
        bundle_files=[("../Dockerfile", inputs.bundle_files[0][1])],
    )
    with pytest.raises(ValueError, match="not a safe relative path"):
        context_bytes(evil)
