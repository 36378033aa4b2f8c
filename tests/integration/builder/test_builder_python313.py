"""A bundle dumped on Python 3.13 builds `FROM` the registered 3.13 base (Debian trixie), passes
validation (its samples answered inside the image) and answers a prediction from the image.

Real interpreter (pyenv's 3.13, as in test_contributor_python.py), real pip for the SDK and the
cp313 wheelhouse, the real Docker engine and registry. The base image comes from
`scripts/build-python-base-image.sh trixie 3.13` (cached: seconds once built).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from modelbay.bundle import archive_to_file
from modelbay_builder.records import BuildStatus, BuildView
from modelbay_builder.store import BuildStore
from modelbay_common.db import transaction
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PYTHON_313 = Path("/root/.pyenv/versions/3.13.0/bin/python3.13")
WHEEL_CACHE = Path("/tmp/modelbay-builder-test-wheels-cp313")
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
SAFETY_TIMEOUT = 1200.0  # a bound so a hang fails the test, not an assertion on speed

MODEL_SCRIPT = '''
import sys
from typing import List

from modelbay import Model, dump


def scale(values: List[float], factor: float) -> List[float]:
    """Multiplies every value by factor."""
    return [v * factor for v in values]


dump(Model(scale=scale, samples={"scale": [{"values": [1.5, -2.0], "factor": 3.0}]}),
     "scaler313", sys.argv[1])
'''


@dataclass(frozen=True)
class _Wheelhouse:
    tar: Path
    lock: tuple[str, ...]
    lock_hash: str


def _run(command: list[str], cwd: Path = REPO) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def trixie_base() -> str:
    output = _run(["bash", str(REPO / "scripts" / "build-python-base-image.sh"), "trixie", "3.13"])
    return output.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def builder_settings_overrides(base_image: str, trixie_base: str) -> dict[str, Any]:
    return {"python_base_images": {"3.11": base_image, "3.13": trixie_base}}


@pytest.fixture(scope="module")
def bundle_313(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("py313")
    assert PYTHON_313.exists(), f"Python 3.13 is expected at {PYTHON_313} on this machine"
    _run([str(PYTHON_313), "-m", "venv", str(work / "venv")])
    python = str(work / "venv" / "bin" / "python")
    _run([python, "-m", "pip", "install", "./libs/runtime", "./libs/sdk"])
    (work / "train.py").write_text(MODEL_SCRIPT)
    _run([python, "train.py", str(work / "bundle")], cwd=work)
    return archive_to_file(work / "bundle", work / "scaler313.tar.gz")


def _server_requirements_313() -> list[str]:
    import importlib.metadata

    environment = {"extra": "server", "python_version": "3.13", "sys_platform": "linux"}
    pins = []
    for text in importlib.metadata.requires("modelbay-runtime") or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            pins.append(str(requirement))
    return sorted(pins)


@pytest.fixture(scope="module")
def wheelhouse_313(tmp_path_factory: pytest.TempPathFactory) -> _Wheelhouse:
    """cp313 wheels of the runtime's server requirements, as the resolver would fetch them."""
    requirements = _server_requirements_313()
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    directory = WHEEL_CACHE / key
    if not (directory / ".complete").exists():
        directory.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pip", "download", "--isolated", "--no-input",
            "--progress-bar", "off", "--only-binary=:all:",
            *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
            "--python-version", "3.13", "--implementation", "cp",
            "-d", str(directory), *requirements,
        ]  # fmt: skip
        _run(command)
        (directory / ".complete").write_text("\n".join(requirements))
    wheels = sorted(directory.glob("*.whl"))
    lock = tuple(
        sorted(
            f"{canonicalize_name(name)}=={version}"
            for name, version, _, _ in (parse_wheel_filename(w.name) for w in wheels)
        )
    )
    lock_hash = hashlib.sha256("\n".join([*lock, "python=3.13"]).encode()).hexdigest()
    tar_path = tmp_path_factory.mktemp("wheelhouse313") / f"{lock_hash}.tar"
    with tarfile.open(tar_path, "w") as tar:
        for wheel in wheels:
            tar.add(wheel, arcname=wheel.name)
    return _Wheelhouse(tar_path, lock, lock_hash)


async def _finished(builder: Any, name: str, version: int) -> BuildView:
    async def poll() -> BuildView:
        while True:
            async with transaction(builder.service.sessions) as session:
                view = await BuildStore(session).find(builder.owner, name, version)
            if view is not None and view.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED):
                return view
            await asyncio.sleep(1)

    return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


async def test_a_313_bundle_builds_on_the_trixie_base_validates_and_predicts(
    builder: Any,
    publish: Any,
    bundle_313: Path,
    wheelhouse_313: _Wheelhouse,
    trixie_base: str,
    docker_client: docker.DockerClient,
) -> None:
    await publish(builder, bundle_313, wheelhouse_313, version=1, python_version="3.13",
                  name="scaler313")  # fmt: skip
    view = await _finished(builder, "scaler313", 1)
    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    assert view.image_ref is not None
    image = docker_client.images.get(view.image_ref)
    assert image.labels["org.opencontainers.image.base.name"] == trixie_base
    probe = (
        "import json, sys, urllib.request, subprocess, time\n"
        "server = subprocess.Popen([sys.executable, '-m', 'modelbay_runtime', 'serve', '/model',"
        " '--port', '8080'])\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        urllib.request.urlopen('http://127.0.0.1:8080/readyz'); break\n"
        "    except OSError: time.sleep(0.1)\n"
        "request = urllib.request.Request('http://127.0.0.1:8080/model/methods/scale',"
        " data=json.dumps({'values': [1.0, 2.0], 'factor': 0.5}).encode(),"
        " headers={'Content-Type': 'application/json'})\n"
        "answer = json.loads(urllib.request.urlopen(request).read())\n"
        "server.terminate()\n"
        "print(json.dumps({'python': list(sys.version_info[:2]), 'answer': answer}))\n"
    )
    output = docker_client.containers.run(
        view.image_ref, ["/opt/venv/bin/python", "-c", probe], remove=True, network_mode="none"
    )
    result = json.loads(output.decode().strip().splitlines()[-1])
    assert result["python"] == [3, 13]
    assert result["answer"] == {"value": [0.5, 1.0]}
