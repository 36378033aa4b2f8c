"""scripts/services-down.sh forgets moto's keys only when this checkout started moto (issue 11,
defect 9): deleting `var/run/s3.env` while another checkout's moto kept running made the next
services-up fail on moto's two-access-keys limit.

Each test runs the script in a copy of `scripts/` under a temporary root with no pid files or
markers except the ones it sets up, so nothing shared is stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "scripts", tmp_path / "scripts")
    (tmp_path / "var" / "run").mkdir(parents=True)
    (tmp_path / "var" / "run" / "s3.env").write_text("MODELBAY_S3_ACCESS_KEY=kept\n")
    return tmp_path


def _services_down(root: Path) -> None:
    subprocess.run(
        ["bash", str(root / "scripts" / "services-down.sh")],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_keys_of_a_moto_another_checkout_started_are_kept(root: Path) -> None:
    _services_down(root)
    assert (root / "var" / "run" / "s3.env").read_text() == "MODELBAY_S3_ACCESS_KEY=kept\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_keys_of_the_moto_this_checkout_started_are_forgotten_when_it_stops(root: Path) -> None:
    # Plays the moto this checkout started. Started through a shell that exits at once, so it
    # is not our child: a child would stay a zombie after the script's SIGTERM, and the
    # script's `kill -0` would keep seeing it.
    started = subprocess.run(
        ["bash", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(started.stdout)
    try:
        (root / "var" / "run" / "moto.pid").write_text(f"{pid}\n")
        _services_down(root)
        assert not _alive(pid)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert not (root / "var" / "run" / "s3.env").exists()
    assert not (root / "var" / "run" / "moto.pid").exists()
