"""What a killed onboarding leaves behind, swept by the next one on the same host.

Upload spool files (`upload-<owner tag>-....tar.gz`, up to MAX_UPLOAD_BYTES each), the work
directories of solution pushes (`modelbay-solution-<owner tag>-...`) in the spool directory, and
the resolver's directories (`modelbay-resolve-<owner tag>-...`, wheels being downloaded) in the
system temp directory (issue 11, defect 5). Each name carries its process's owner tag
(`modelbay_common.scratch`), and only entries of dead processes of this host and pid namespace
are removed: a live onboarding's uploads are never touched, whoever sweeps.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from modelbay_common.scratch import DebrisSweeper, sweep

from modelbay_onboarding.settings import OnboardingSettings

UPLOAD_BASE = "upload-"
SOLUTION_BASE = "modelbay-solution-"
RESOLVE_BASE = "modelbay-resolve-"


def spool_directory(settings: OnboardingSettings) -> Path:
    return settings.spool_dir or Path(tempfile.gettempdir())


def sweep_onboarding_debris(settings: OnboardingSettings) -> list[Path]:
    """One sweep of the spool and resolve directories; what was removed."""
    removed = sweep(spool_directory(settings), [UPLOAD_BASE, SOLUTION_BASE])
    removed += sweep(Path(tempfile.gettempdir()), [RESOLVE_BASE])
    return removed


def debris_sweeper(settings: OnboardingSettings) -> DebrisSweeper:
    return DebrisSweeper(lambda: sweep_onboarding_debris(settings), settings.debris_sweep_seconds)
