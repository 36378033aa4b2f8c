"""The builder's one-sentence reason for a model server that stopped before it became ready."""

from __future__ import annotations

import logging
import traceback

import pytest
from modelbay_builder import failure_reason
from modelbay_builder.failure_reason import root_cause_in_log, server_exit_reason
from modelbay_runtime.server import load_failure

UVICORN_NOISE = (
    "INFO:     Waiting for application shutdown.\nINFO:     Finished server process [7]\n"
)


def test_the_marker_is_the_runtimes() -> None:
    assert failure_reason.LOAD_FAILURE_MARKER == load_failure.LOAD_FAILURE_MARKER
    assert failure_reason.MODEL_PROCESS_DIED_MARKER == load_failure.MODEL_PROCESS_DIED_MARKER


def test_a_model_process_that_died_is_named_as_such() -> None:
    line, status = load_failure.exit_line_and_status("died:killed by signal 9 (SIGKILL)")
    log = "INFO:     Application startup complete.\n" + UVICORN_NOISE + line + "\n"
    assert status == load_failure.EXIT_MODEL_PROCESS_DIED
    assert server_exit_reason(status, log) == (
        "the model process died: killed by signal 9 (SIGKILL)"
    )


def test_the_runtimes_last_line_is_the_reason() -> None:
    log = (
        "Traceback (most recent call last):\n  File 'x.py', line 1\nImportError: outer\n"
        + UVICORN_NOISE
        + load_failure.LOAD_FAILURE_MARKER
        + "OSError: libgomp.so.1: cannot open shared object file\n"
    )
    assert server_exit_reason(3, log) == (
        "the model could not be loaded: OSError: libgomp.so.1: cannot open shared object file"
    )


def _formatted(make: type[BaseException]) -> str:
    def chained() -> None:
        try:
            raise OSError("libgomp.so.1: cannot open shared object file")
        except OSError as inner:
            raise make("lightgbm could not load its library") from inner

    with pytest.raises(make) as raised:
        chained()
    return "".join(traceback.format_exception(raised.value))


def test_without_the_marker_the_innermost_error_of_the_last_traceback() -> None:
    earlier = "Traceback (most recent call last):\n  File 'a.py'\nKeyError: 'unrelated'\n"
    log = earlier + "some output\n" + _formatted(ImportError) + UVICORN_NOISE
    assert root_cause_in_log(log) == "OSError: libgomp.so.1: cannot open shared object file"


def test_a_logged_traceback_with_a_prefix_line() -> None:
    logger = logging.getLogger("test")
    record = logger.makeRecord(
        "test", logging.ERROR, "f", 1, "the model could not be loaded", None, None
    )
    log = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(record)
    log += "\n" + _formatted(RuntimeError)
    assert root_cause_in_log(log) == "OSError: libgomp.so.1: cannot open shared object file"


def test_no_traceback_keeps_the_exit_code_sentence() -> None:
    assert server_exit_reason(137, "Killed\n") == (
        "the model server exited (code 137) before it became ready"
    )
    assert root_cause_in_log("") is None


def test_a_very_long_message_is_cut_to_one_readable_line() -> None:
    log = load_failure.LOAD_FAILURE_MARKER + "ValueError: " + "x" * 5000
    cause = root_cause_in_log(log)
    assert cause is not None
    assert len(cause) == 400
    assert cause.endswith("…")
