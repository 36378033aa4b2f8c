"""Pickle scanning without unpickling: what a pickle imports, and the verdict over it.

The malicious pickles are built by hand (a `__reduce__` returning `os.system`, `eval`, ...) and
never loaded; the legitimate ones are the SDK's own bundles of every model in tests/models.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import pickletools
import socket
import subprocess
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from modelbay import dump
from modelbay.deps import load_script
from modelbay_onboarding.validation.pickle_policy import classify, declared_modules
from modelbay_onboarding.validation.pickle_scan import (
    UNRESOLVED_MODULE,
    PickleGlobal,
    UnreadablePickleError,
    scan_pickle,
)

TESTS = Path(__file__).resolve().parents[2]
MODELS = TESTS / "models"
# Every model script the test suites push that is safe to import (local_helper is imported by
# helper_pipeline; the editable one needs its distribution installed, which tests/unit/sdk does
# in a venv; fig5_common holds the others' types). Never the builder's *_script.py: they are run
# as programs and write an archive to sys.argv[1].
MODEL_SCRIPTS = sorted(
    [
        *(p for p in MODELS.glob("*.py") if p.stem not in {"local_helper", "editable_features"}),
        *(p for p in (TESTS / "e2e" / "models").glob("*.py") if p.stem != "fig5_common"),
    ]
)


class _Calls:
    """Unpickling this calls `function(*arguments)`: the classic pickle attack."""

    def __init__(self, function: Any, *arguments: Any) -> None:
        self.function, self.arguments = function, arguments

    def __reduce__(self) -> tuple[Any, ...]:
        return self.function, self.arguments


def _globals(payload: bytes) -> set[str]:
    return {found.qualified for found in scan_pickle(io.BytesIO(payload))}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_os_system_is_found_in_every_protocol(protocol: int) -> None:
    payload = pickle.dumps(_Calls(os.system, "touch /tmp/pwned"), protocol=protocol)
    assert f"{os.system.__module__}.system" in _globals(payload)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (eval, "builtins.eval"),
        (exec, "builtins.exec"),
        (open, "io.open"),
        (subprocess.run, "subprocess.run"),
        (socket.create_connection, "socket.create_connection"),
    ],
)
def test_the_dangerous_globals_are_blocked(function: Any, expected: str) -> None:
    verdict = classify(scan_pickle(io.BytesIO(pickle.dumps(_Calls(function, "x")))), frozenset())
    assert verdict.status == "blocked"
    assert expected in verdict.blocked


def test_strings_come_back_from_the_memo_for_stack_global() -> None:
    """cloudpickle memoizes module names and reuses them with BINGET: still resolved."""
    payload = cloudpickle.dumps([_Calls(os.getcwd), _Calls(os.getpid)])
    found = _globals(payload)
    assert {f"{os.getcwd.__module__}.getcwd", f"{os.getpid.__module__}.getpid"} <= found


def test_a_stack_global_with_operands_it_cannot_see_is_unresolved_and_blocked() -> None:
    # PROTO 4, an empty tuple and a string as operands, STACK_GLOBAL, STOP.
    payload = b"\x80\x04" + b")" + b"\x8c\x06system" + b"\x93" + b"."
    found = scan_pickle(io.BytesIO(payload))
    assert PickleGlobal(UNRESOLVED_MODULE, "STACK_GLOBAL") in found
    assert classify(found, frozenset()).status == "blocked"


def test_cloudpickle_module_references_count_as_imports() -> None:
    """A by-value function that uses `subprocess` pickles `subimport('subprocess')`."""

    def sneaky() -> object:
        return subprocess.run

    found = _globals(cloudpickle.dumps(sneaky))
    assert "subprocess.*" in found
    # Listed and flagged, not blocked: importing a module runs nothing of the model's at load,
    # and model code legitimately uses `sys`/`os` (tests/e2e/models/where_am_i.py).
    verdict = classify(scan_pickle(io.BytesIO(cloudpickle.dumps(sneaky))), frozenset())
    assert (verdict.status, verdict.flagged, verdict.blocked) == ("flagged", ("subprocess.*",), ())


def test_not_a_pickle_is_unreadable() -> None:
    with pytest.raises(UnreadablePickleError):
        scan_pickle(io.BytesIO(b"\xffnot a pickle"))


def test_undeclared_packages_are_flagged_and_an_allowance_turns_blocked_into_flagged() -> None:
    found = (PickleGlobal("numpy", "ndarray"), PickleGlobal("posix", "system"))
    assert classify(found[:1], frozenset()).status == "flagged"
    assert classify(found[:1], frozenset({"numpy"})).status == "clean"
    allowed = classify(found, frozenset({"numpy"}), frozenset({"posix.system"}))
    assert (allowed.status, allowed.blocked, allowed.allowed) == ("flagged", (), ("posix.system",))


def test_an_allowance_names_one_global_not_its_module() -> None:
    found = (PickleGlobal("posix", "system"),)
    assert classify(found, frozenset(), frozenset({"posix.getcwd"})).status == "blocked"


def test_declared_modules_read_requirements_reasons_and_local_modules() -> None:
    manifest = {
        "requirements": ["scikit-learn==1.5.0", "my-pkg>=1"],
        "requirement_reasons": {"pillow": ["traced object PIL.Image.Image"]},
        "local_modules": [{"name": "helpers"}],
    }
    assert {"sklearn", "numpy", "my_pkg", "PIL", "helpers"} <= declared_modules(manifest)


@pytest.mark.parametrize("script", MODEL_SCRIPTS, ids=lambda path: path.stem)
def test_no_test_model_bundle_is_blocked(script: Path, tmp_path: Path) -> None:
    """Legitimate models are never blocked: the SDK's bundle of each test model scans clean,
    but for where_am_i, whose code uses `sys` (flagged: `sys.*`)."""
    name = script.stem.replace("_", "-").lower()
    loaded = load_script(script)
    # A script's LOCAL_FILES (paths relative to it) are data files its samples read at dump time.
    shipped = [script.parent / f for f in getattr(loaded, "LOCAL_FILES", ())]
    bundle = dump(loaded.model, name, tmp_path / "b", local_files=shipped)
    manifest = json.loads((bundle / "manifest.json").read_text())
    with (bundle / "model.pkl").open("rb") as stream:
        verdict = classify(scan_pickle(stream), declared_modules(manifest))
    expected = ("flagged", ("sys.*",)) if script.stem == "where_am_i" else ("clean", ())
    assert (verdict.status, verdict.flagged) == expected, verdict


def test_the_scan_reads_the_stream_without_running_it(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    payload = pickle.dumps(_Calls(os.system, f"touch {canary}"))
    pickletools.dis(payload, out=io.StringIO())  # the same walker, for comparison
    scan_pickle(io.BytesIO(payload))
    assert not canary.exists()
