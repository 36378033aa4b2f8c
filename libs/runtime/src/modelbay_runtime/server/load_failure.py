"""A model that cannot load ends the server with a non-zero status and one line naming why.

The model loads in a thread after uvicorn has started (so `/healthz` answers at once), which means
the failure happens inside a running server: the loader records it, stops the server with
SIGTERM (a graceful stop, so the log is flushed), and `python -m modelbay_runtime serve` exits
with `EXIT_MODEL_LOAD_FAILED` after printing `LOAD_FAILURE_MARKER` + the root cause on stderr.

With several uvicorn workers the loading happens in a worker process: the record is a file the
serving command created (`LOAD_FAILURE_FILE_ENV`), and the worker stops the supervisor
(`SUPERVISOR_PID_ENV`), which stops its siblings and returns to the serving command.

The marker line is a contract with the builder, which reads it from the container log to give a
failed version a one-sentence reason (`modelbay_builder.failure_reason`, which repeats the literal
because no service imports the runtime).
"""

from __future__ import annotations

import os
import signal

EXIT_MODEL_LOAD_FAILED = 3
LOAD_FAILURE_MARKER = "modelbay-runtime: the model could not be loaded: "
# The model process (model_process.py) died after the model had loaded: a crash or the OOM killer.
EXIT_MODEL_PROCESS_DIED = 4
MODEL_PROCESS_DIED_MARKER = "modelbay-runtime: the model process died: "
_DIED_PREFIX = "died:"
LOAD_FAILURE_FILE_ENV = "MODELBAY_RUNTIME_LOAD_FAILURE_FILE"
SUPERVISOR_PID_ENV = "MODELBAY_RUNTIME_SUPERVISOR_PID"


def root_cause(exc: BaseException) -> str:
    """`Type: message` of the innermost exception (following `raise ... from` and implicit
    chaining): the loader's own wrappers say where it failed, the innermost says why."""
    innermost, seen = exc, {id(exc)}
    while True:
        inner = innermost.__cause__ or (
            None if innermost.__suppress_context__ else innermost.__context__
        )
        if inner is None or id(inner) in seen:
            break
        innermost = inner
        seen.add(id(inner))
    message = " ".join(str(innermost).split())  # one line, whatever the message spans
    return f"{type(innermost).__name__}: {message}" if message else type(innermost).__name__


def report_and_stop(cause: str, *, died: bool = False) -> None:
    """Record `cause` for the serving command and stop the server (its supervisor, if any).

    `died`: the model process stopped while serving, rather than the model failing to load."""
    record = os.environ.get(LOAD_FAILURE_FILE_ENV)
    if record:
        with open(record, "w", encoding="utf-8") as file:
            file.write(_DIED_PREFIX + cause if died else cause)
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    os.kill(int(supervisor) if supervisor.isdigit() else os.getpid(), signal.SIGTERM)


def recorded_failure(record: str) -> str | None:
    """The cause a loader recorded in the file `record`, or None when loading did not fail."""
    try:
        with open(record, encoding="utf-8") as file:
            cause = file.read().strip()
    except FileNotFoundError:
        return None
    return cause or None


def exit_line_and_status(recorded: str) -> tuple[str, int]:
    """The last line on stderr and the exit status of `serve` for a recorded failure."""
    if recorded.startswith(_DIED_PREFIX):
        return MODEL_PROCESS_DIED_MARKER + recorded[len(_DIED_PREFIX) :], EXIT_MODEL_PROCESS_DIED
    return LOAD_FAILURE_MARKER + recorded, EXIT_MODEL_LOAD_FAILED
