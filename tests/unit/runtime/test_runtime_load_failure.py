"""A model server whose model cannot load exits non-zero and names the root cause in one line
(docs/runtime.md, "Exit status"); a server stopped normally still dies by its signal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from modelbay_runtime.server.load_failure import (
    EXIT_MODEL_LOAD_FAILED,
    LOAD_FAILURE_MARKER,
    root_cause,
)
from onboarding_bundles import make_bundle_dir
from unloadable_bundles import ROOT_CAUSE, make_unloadable_bundle_dir

SERVE_TIMEOUT_SECONDS = 120


def _serve(bundle: Path, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundle), "--port", "0"]
    return subprocess.Popen(
        [*command, *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_unloadable_model_exits_3_with_the_innermost_error(tmp_path: Path) -> None:
    bundle = make_unloadable_bundle_dir(tmp_path / "bundle", tmp_path / "src")
    server = _serve(bundle)
    output, _ = server.communicate(timeout=SERVE_TIMEOUT_SECONDS)
    assert server.returncode == EXIT_MODEL_LOAD_FAILED, output
    assert output.strip().splitlines()[-1] == LOAD_FAILURE_MARKER + ROOT_CAUSE
    assert "Traceback" in output  # the full log stays for whoever reads it


def test_unloadable_model_exits_3_with_several_workers(tmp_path: Path) -> None:
    bundle = make_unloadable_bundle_dir(tmp_path / "bundle", tmp_path / "src")
    server = _serve(bundle, "--workers", "2")
    output, _ = server.communicate(timeout=SERVE_TIMEOUT_SECONDS)
    assert server.returncode == EXIT_MODEL_LOAD_FAILED, output
    assert output.strip().splitlines()[-1] == LOAD_FAILURE_MARKER + ROOT_CAUSE


def test_a_normal_stop_on_sigterm_exits_0(tmp_path: Path) -> None:
    server = _serve(make_bundle_dir(tmp_path / "bundle"))
    assert server.stdout is not None
    for line in server.stdout:
        if "model adder ready" in line:
            break
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=SERVE_TIMEOUT_SECONDS)
    assert server.returncode == 0  # issue 15: a stop asked for is a success


def _explicit_chain() -> None:
    try:
        raise OSError("libgomp.so.1: cannot open\nshared object file")
    except OSError as inner:
        raise ImportError("extension failed") from inner


def _implicit_chain() -> None:
    try:
        raise KeyError("weights")
    except KeyError:
        raise ValueError("bad checkpoint")  # noqa: B904 -- implicit chaining on purpose


def _suppressed_chain() -> None:
    try:
        raise KeyError("hidden")
    except KeyError:
        raise RuntimeError("shown") from None


def test_root_cause_follows_explicit_and_implicit_chains() -> None:
    with pytest.raises(ImportError) as explicit:
        _explicit_chain()
    assert root_cause(explicit.value) == "OSError: libgomp.so.1: cannot open shared object file"
    with pytest.raises(ValueError, match="bad checkpoint") as implicit:
        _implicit_chain()
    assert root_cause(implicit.value) == "KeyError: 'weights'"
    with pytest.raises(RuntimeError) as suppressed:
        _suppressed_chain()
    assert root_cause(suppressed.value) == "RuntimeError: shown"
    assert root_cause(MemoryError()) == "MemoryError"


def test_model_process_exits_3_quietly_when_the_server_is_gone(tmp_path: Path) -> None:
    """A model process whose load fails after the serving process went away (it could not
    start, or was stopped) exits 3 with the load's log, not a second traceback of its own."""
    bundle = make_unloadable_bundle_dir(tmp_path / "bundle", tmp_path / "src")
    ours, theirs = socket.socketpair()
    ours.close()  # the serving process is gone before the model has loaded
    with theirs:
        worker_command = [sys.executable, "-m", "modelbay_runtime.server.model_worker"]
        worker = subprocess.run(
            [*worker_command, str(theirs.fileno()), str(bundle), "1"],
            pass_fds=(theirs.fileno(),),
            capture_output=True,
            text=True,
            timeout=SERVE_TIMEOUT_SECONDS,
        )
    assert worker.returncode == EXIT_MODEL_LOAD_FAILED, worker.stderr
    assert "the model could not be loaded" in worker.stderr
    assert "BrokenPipeError" not in worker.stderr
    assert worker.stderr.count("Traceback") == 1, worker.stderr  # the load's, logged once
