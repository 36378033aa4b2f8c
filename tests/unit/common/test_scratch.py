"""Scratch entries named after their owner are swept only when that owner is dead (issue 11,
defect 5): never a live process's, never ours, never another host's, never an untagged one."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from modelbay_common.scratch import (
    DebrisSweeper,
    owned_prefix,
    owner_tag,
    sweep,
    tag_is_debris,
    this_process,
)


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()  # reaped: the pid is gone
    return finished.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    sleeper = subprocess.Popen(["sleep", "300"])
    yield sleeper.pid
    sleeper.kill()
    sleeper.wait()


def _make(directory: Path, name: str, *, as_dir: bool) -> Path:
    path = directory / name
    if as_dir:
        path.mkdir()
        (path / "wheel.whl").write_bytes(b"x" * 1000)
    else:
        path.write_bytes(b"partial upload")
    return path


def test_only_entries_of_dead_processes_of_this_host_are_swept(
    tmp_path: Path, live_pid: int
) -> None:
    me = this_process()
    dead = replace(me, pid=_dead_pid())
    live = replace(me, pid=live_pid)
    elsewhere = replace(dead, host="another-host")
    dead_dir = _make(tmp_path, owned_prefix("modelbay-resolve-", dead) + "a1", as_dir=True)
    dead_file = _make(tmp_path, owned_prefix("upload-", dead) + "b2.tar.gz", as_dir=False)
    kept = [
        _make(tmp_path, owned_prefix("upload-", live) + "c3.tar.gz", as_dir=False),
        _make(tmp_path, owned_prefix("upload-", me) + "d4.tar.gz", as_dir=False),
        _make(tmp_path, owned_prefix("upload-", elsewhere) + "e5.tar.gz", as_dir=False),
        _make(tmp_path, "upload-legacyname.tar.gz", as_dir=False),
        _make(tmp_path, owned_prefix("unrelated-", dead) + "f6", as_dir=True),
    ]

    removed = sweep(tmp_path, ["upload-", "modelbay-resolve-"], me)

    assert sorted(removed) == sorted([dead_dir, dead_file])
    assert not dead_dir.exists()
    assert not dead_file.exists()
    assert all(path.exists() for path in kept)


def test_tags_of_ourselves_and_of_live_processes_are_not_debris(live_pid: int) -> None:
    me = this_process()
    assert not tag_is_debris(owner_tag(me), me)
    assert not tag_is_debris(owner_tag(replace(me, pid=live_pid)), me)
    assert tag_is_debris(owner_tag(replace(me, pid=_dead_pid())), me)
    assert not tag_is_debris("not-a-tag", me)


async def test_the_sweeper_sweeps_at_start_and_on_its_schedule() -> None:
    sweeps: list[int] = []
    loop = asyncio.get_running_loop()
    third = asyncio.Event()

    def sweep_once() -> None:  # runs in a worker thread
        sweeps.append(1)
        if len(sweeps) == 3:
            loop.call_soon_threadsafe(third.set)

    sweeper = DebrisSweeper(sweep_once, interval=0.05)
    await sweeper.start()
    assert sweeps == [1]  # at start, before anything else runs
    await asyncio.wait_for(third.wait(), timeout=30)
    await sweeper.stop()


async def test_a_failing_sweep_does_not_stop_the_service() -> None:
    def broken() -> None:
        raise OSError("disk gone")

    sweeper = DebrisSweeper(broken, interval=0)
    await sweeper.start()
    await sweeper.stop()
