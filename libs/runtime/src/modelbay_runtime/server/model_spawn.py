"""Starting the model process, as early as `serve` can (cold start, issue 13).

A model image's cold start is the model process importing the model's stack and unpickling it
(scikit-learn's import alone is about 1 s of CPU) while the serving process imports uvicorn, the
HTTP side and gRPC (about 0.3 s). They run on two cores, so the serving command starts the model
process first (`prestart`), before it imports any of that, and the server's `ProcessRunner`
adopts it when the app starts (`adopt_prestarted`); `/readyz` still turns 200 only once the
model process has reported the model loaded.

This module is imported before everything else of the server, so it imports only what starting
a process needs (no asyncio, no protobuf, no HTTP side): keep it that way.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from os import path

from modelbay_runtime.server.settings import RuntimeSettings, usable_cores

WORKER_MODULE = "modelbay_runtime.server.model_worker"
# A solution bundle (docs/solutions.md) is served by the orchestrator, never by a model process;
# the same name as `modelbay_runtime.solution.SOLUTION_FILE`, which this module does not import
# (it pulls in the solution parser).
_SOLUTION_FILE = "solution.json"

Started = tuple[subprocess.Popen[bytes], socket.socket]
_prestarted: dict[tuple[str, int], Started] = {}


def use_model_process(settings: RuntimeSettings) -> bool:
    """`on`, `off`, or for `auto`: a pickled Python model and at least two usable cores."""
    if settings.model_process != "auto":
        return settings.model_process == "on"
    if usable_cores() < 2:
        return False  # one core: a second process only adds context switches
    try:
        with open(path.join(settings.bundle_dir, "manifest.json"), encoding="utf-8") as file:
            manifest = json.load(file)
    except (OSError, ValueError):
        return False  # the in-process loader reports what is wrong with the bundle
    return isinstance(manifest, dict) and manifest.get("kind", "python") == "python"


def is_solution_bundle(bundle_dir: str) -> bool:
    """`modelbay_runtime.solution_bundle.is_solution_bundle` without importing that module."""
    return path.isfile(path.join(bundle_dir, _SOLUTION_FILE))


def spawn(settings: RuntimeSettings) -> Started:
    """Start `python -m modelbay_runtime.server.model_worker` on one end of a socket pair."""
    ours, theirs = socket.socketpair()
    with theirs:
        argv = [sys.executable, "-m", WORKER_MODULE]
        argv += [str(theirs.fileno()), settings.bundle_dir, str(settings.model_threads)]
        return subprocess.Popen(argv, pass_fds=(theirs.fileno(),)), ours


def prestart_if_used(settings: RuntimeSettings) -> bool:
    """Start the model process now if the server `settings` describe will use one: a model
    bundle (not a solution), one uvicorn worker (with several, each worker process starts its
    own), and `use_model_process`. Returns whether it started one."""
    if settings.workers != 1 or is_solution_bundle(settings.bundle_dir):
        return False
    if not use_model_process(settings):
        return False
    _prestarted[(settings.bundle_dir, settings.model_threads)] = spawn(settings)
    return True


def adopt_prestarted(settings: RuntimeSettings) -> Started | None:
    """The model process `prestart_if_used` started for these settings, once (else None)."""
    return _prestarted.pop((settings.bundle_dir, settings.model_threads), None)
