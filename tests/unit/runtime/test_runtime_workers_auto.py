"""`--workers auto` (and MODELBAY_RUNTIME_WORKERS=auto): one worker per core the process may use."""

from __future__ import annotations

import argparse
import os

import pytest
from modelbay_runtime.__main__ import worker_count
from modelbay_runtime.server.settings import RuntimeSettings, usable_cores


def test_auto_is_the_cores_of_this_process_affinity() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0))
    assert worker_count("auto") == usable_cores()
    assert RuntimeSettings.from_env({"MODELBAY_RUNTIME_WORKERS": "auto"}).workers == usable_cores()


def test_a_number_is_taken_as_it_is_and_anything_else_is_refused() -> None:
    assert worker_count("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="'many' is not a number or 'auto'"):
        worker_count("many")
    with pytest.raises(ValueError, match="MODELBAY_RUNTIME_WORKERS"):
        RuntimeSettings.from_env({"MODELBAY_RUNTIME_WORKERS": "many"})
