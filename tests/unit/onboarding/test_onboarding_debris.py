"""Onboarding's spool files and resolve directories name their process, so the next onboarding on
this host sweeps a killed one's (issue 11, defect 5) and never a live one's."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from modelbay_common.scratch import owned_prefix, this_process
from modelbay_onboarding.debris import (
    RESOLVE_BASE,
    SOLUTION_BASE,
    UPLOAD_BASE,
    sweep_onboarding_debris,
)
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.spool import spooled


def _settings(spool: Path) -> OnboardingSettings:
    return OnboardingSettings(
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none",
        bus_url="memory://",
        blob_url=spool.as_uri(),
        spool_dir=spool,
    )


def _dead_owner_prefix(base: str) -> str:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return owned_prefix(base, replace(this_process(), pid=finished.pid))


async def _body() -> object:
    yield b"part of a bundle"


async def test_a_killed_onboardings_spool_and_resolve_debris_is_swept_a_live_upload_is_not(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    dead_upload = tmp_path / (_dead_owner_prefix(UPLOAD_BASE) + "x1.tar.gz")
    dead_upload.write_bytes(b"2 GiB in real life")
    dead_solution = tmp_path / (_dead_owner_prefix(SOLUTION_BASE) + "x2")
    dead_solution.mkdir()
    dead_resolve = Path(tempfile.mkdtemp(prefix=_dead_owner_prefix(RESOLVE_BASE)))
    (dead_resolve / "wheels").mkdir()

    async with spooled(_body(), limit=1000, directory=tmp_path) as live:  # type: ignore[arg-type]
        removed = sweep_onboarding_debris(settings)
        assert live.path.exists()  # this process's upload in flight is never swept
        assert live.path.name.startswith(owned_prefix(UPLOAD_BASE))

    assert set(removed) >= {dead_upload, dead_solution, dead_resolve}
    assert _present(dead_upload, dead_solution, dead_resolve) == []


def _present(*paths: Path) -> list[Path]:
    return [path for path in paths if path.exists()]
