"""Running `pip download` for the image target, isolated from this machine's pip setup.

pip runs as a subprocess of this venv's Python (`python -m pip`), so the event loop never
blocks and a hung download can be killed. `--isolated` plus `PIP_CONFIG_FILE=/dev/null` and an
environment without `PIP_*` variables keep host settings (constraints files, find-links to
local wheels, index mirrors) from changing what a model gets: only this service's settings do.
Every line pip prints is logged as it arrives, so an operator sees the download progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from modelbay_onboarding.errors import ResolutionError, ResolverUnavailableError
from modelbay_onboarding.pip_errors import explain_pip_failure

log = logging.getLogger(__name__)

RUNTIME_DISTRIBUTION = "modelbay-runtime"
# The oldest glibc of the bases images are built on (Debian bookworm 2.36; trixie has 2.41): a
# wheel whose manylinux tag asks for a newer glibc would not load there.
BASE_GLIBC_MINOR = 36
# pip matches `--platform` tags exactly (it widens only the legacy manylinux2014/2010 aliases), so
# every PEP 600 tag up to the bases' glibc is listed, newest first as pip orders a real host's
# tags. With 2014, 2_17 and 2_28 alone, a wheel tagged only manylinux_2_27 (nvidia-cudnn-cu13, a
# dependency of torch) was never found and the resolution failed.
TARGET_PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(BASE_GLIBC_MINOR, 4, -1)),
    "manylinux2014_x86_64",
)
_OUTPUT_LINES_KEPT = 400
_PROGRESS_PREFIXES = ("Collecting", "Downloading", "Saved", "Successfully", "Using cached")


@dataclass(frozen=True)
class PipOptions:
    index_url: str | None = None
    cert: Path | None = None
    cache_dir: Path | None = None
    timeout_seconds: float = 1800.0


def runtime_server_requirements(python_version: str) -> tuple[str, ...]:
    """The model server's own requirements (`modelbay-runtime[server]`), for the target.

    Markers are evaluated for the image (Linux, x86_64, CPython `python_version`), not for this
    host, and dropped from the result. The runtime wheel itself is added by the builder.
    """
    environment = {
        "extra": "server",
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    pins = []
    for text in importlib.metadata.requires(RUNTIME_DISTRIBUTION) or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            pins.append(str(requirement))
    return tuple(sorted(pins))


def pip_command(
    requirements_file: Path, destination: Path, python_version: str, options: PipOptions
) -> list[str]:
    command = [
        sys.executable, "-m", "pip", "download",
        "--isolated", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
        "--dest", str(destination), "--requirement", str(requirements_file),
    ]  # fmt: skip
    for platform in TARGET_PLATFORMS:
        command += ["--platform", platform]
    if options.index_url:
        command += ["--index-url", options.index_url]
    if options.cert:
        command += ["--cert", str(options.cert)]
    if options.cache_dir:
        command += ["--cache-dir", str(options.cache_dir)]
    return command


def pip_environment(temp_dir: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    environment["PIP_CONFIG_FILE"] = os.devnull  # read even in --isolated mode: skip every file
    environment["PYTHONUNBUFFERED"] = "1"
    # pip's own temp dirs (pip-unpack-*, pip-download-*) go inside the owned resolve directory,
    # so those of a pip killed with its onboarding process are swept with it (the fault suite
    # found them left in the system temp dir, which no sweep touches).
    environment["TMPDIR"] = str(temp_dir)
    return environment


async def download_wheels(
    requirements: tuple[str, ...], python_version: str, destination: Path, options: PipOptions
) -> None:
    """Download every wheel `requirements` need for the target into `destination`.

    Raises ResolutionError (the contributor must change something) or ResolverUnavailableError
    (the index is unreachable: retry later).
    """
    requirements_file = destination.parent / "requirements.in"
    requirements_file.write_text("".join(f"{line}\n" for line in requirements))
    command = pip_command(requirements_file, destination, python_version, options)
    pip_temp = destination.parent / "pip-tmp"
    pip_temp.mkdir(exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=pip_environment(pip_temp),
    )
    output: deque[str] = deque(maxlen=_OUTPUT_LINES_KEPT)
    try:
        await asyncio.wait_for(_follow(process, output), timeout=options.timeout_seconds)
    except TimeoutError:
        raise ResolutionError(
            f"Resolving and downloading the requirements took longer than "
            f"{options.timeout_seconds:g} s; pin fewer or smaller packages",
            "\n".join(output),
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode != 0:
        raise explain_pip_failure("\n".join(output), python_version)


async def _follow(process: asyncio.subprocess.Process, output: deque[str]) -> None:
    assert process.stdout is not None
    async for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip()
        output.append(line)
        level = logging.INFO if line.lstrip().startswith(_PROGRESS_PREFIXES) else logging.DEBUG
        log.log(level, "pip: %s", line)
    await process.wait()


__all__ = [
    "TARGET_PLATFORMS",
    "PipOptions",
    "ResolutionError",
    "ResolverUnavailableError",
    "download_wheels",
    "pip_command",
    "pip_environment",
    "runtime_server_requirements",
]
