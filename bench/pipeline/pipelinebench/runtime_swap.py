"""A model image with another runtime: for A/B cold starts of a runtime change (issue 13).

The builder installs the runtime as a layer of its own (`modelbay_builder.context`: a `runtime`
stage `pip install --target /opt/modelbay-runtime` of the runtime wheel, copied over the base
after the venv), so a runtime change means a new image. This rebuilds an existing model image
that way with the runtime built from SOURCE — a directory, or `git:REV` for `libs/runtime` as
committed at REV — keeping the image's base, venv and bundle bytes and its configuration (ENV,
USER, CMD, …): both sides of an A/B are built by the same steps, only the runtime differs.

    bash bench/pipeline/layers.sh --images IRIS=BASE --runtime-from git:HEAD libs/runtime --runs 15
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import docker

RUNTIME_TARGET = "/opt/modelbay-runtime"
_RUNTIME_STAGE = """\
FROM {base} AS runtime
COPY runtime/ /tmp/runtime/
RUN python3 -m venv /tmp/installer \\
 && /tmp/installer/bin/pip install --no-index --no-deps --no-cache-dir \\
    --disable-pip-version-check --target {target} /tmp/runtime/{wheel}

FROM {image} AS model
FROM {base}
COPY --from=model /opt/venv /opt/venv
COPY --from=runtime {target} {target}
"""


def runtime_source(spec: str, root: Path, work: Path) -> Path:
    """The runtime's source directory for `spec`: a path, or `git:REV` exported from the
    repository at `root` (`git archive`, which leaves the shared checkout untouched)."""
    if not spec.startswith("git:"):
        return Path(spec).resolve()
    revision = spec[len("git:") :]
    target = work / f"runtime-{revision.replace('/', '_')}"
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", revision, "libs/runtime"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "libs" / "runtime"


def with_runtime(
    client: docker.DockerClient, image: str, base: str, source: Path, work: Path
) -> str:
    """Build `image` again with the runtime from `source`; returns the new tag."""
    from modelbay_builder.runtime_wheel import RuntimeWheel

    wheel = asyncio.run(RuntimeWheel(work / "wheels", wheel=None, source=source).path())
    config = client.images.get(image).attrs["Config"]
    dockerfile = _RUNTIME_STAGE.format(
        base=base, image=image, target=RUNTIME_TARGET, wheel=wheel.name
    )
    dockerfile += _config_lines(config)
    dockerfile += "COPY --from=model /model/ /model/\n"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        _add(tar, "Dockerfile", dockerfile.encode())
        _add(tar, f"runtime/{wheel.name}", wheel.read_bytes())
    context.seek(0)
    digest = hashlib.sha256(context.getvalue()).hexdigest()[:12]
    tag = f"modelbay-bench/runtime-swap:{digest}"
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)
    return tag


def _config_lines(config: dict[str, Any]) -> str:
    """The model image's ENV, USER, EXPOSE, HEALTHCHECK and CMD, as Dockerfile lines."""
    lines = [f"ENV {json.dumps(entry.split('=', 1)[0])}={json.dumps(entry.split('=', 1)[1])}"
             for entry in config.get("Env") or []]  # fmt: skip
    if config.get("User"):
        lines.append(f"USER {config['User']}")
    if config.get("ExposedPorts"):
        lines.append("EXPOSE " + " ".join(config["ExposedPorts"]))
    check = config.get("Healthcheck") or {}
    if check.get("Test") and check["Test"][0] == "CMD":
        lines.append(
            f"HEALTHCHECK --interval={check['Interval'] // 10**9}s"
            f" --timeout={check['Timeout'] // 10**9}s"
            f" --start-period={check['StartPeriod'] // 10**9}s --retries={check['Retries']}"
            f" CMD {json.dumps(check['Test'][1:])}"
        )
    if config.get("Cmd"):
        lines.append(f"CMD {json.dumps(config['Cmd'])}")
    return "\n".join(lines) + "\n"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="runtime-swap-"))
