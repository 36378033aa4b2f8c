"""One sentence naming why a model server stopped before it became ready, read from its log.

The version's `reason` is what a person reads first, so it names the root cause — the type and
message of the innermost error, e.g. `OSError: libgomp.so.1: cannot open shared object file` —
and the log stays in `detail`. The model server (`python -m modelbay_runtime serve`, exit status
3) ends its log with `LOAD_FAILURE_MARKER` + that cause; for anything else that dies with a
Python traceback (an older runtime, a crash before the server starts) the innermost exception of
the log's last traceback is used. A model process that died after loading (exit status 4,
`MODEL_PROCESS_DIED_MARKER`) is named as such.
"""

from __future__ import annotations

import re

# The same literal as modelbay_runtime.server.load_failure.LOAD_FAILURE_MARKER (no service imports
# the runtime; tests/unit/builder/test_failure_reason.py checks they agree).
LOAD_FAILURE_MARKER = "modelbay-runtime: the model could not be loaded: "
# ... and of MODEL_PROCESS_DIED_MARKER (exit status 4): the model loaded in its own process, which
# then died (a crash in native code, the sandbox's memory limit) before the server was ready.
MODEL_PROCESS_DIED_MARKER = "modelbay-runtime: the model process died: "
_TRACEBACK = "Traceback (most recent call last):"
_CHAINED = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
# `module.Type: message` or a bare `Type` at the start of a line, after a traceback's frames.
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?::\s.*)?$")
_MAX_CAUSE_CHARS = 400


def server_exit_reason(exit_code: object, log: str) -> str:
    """The reason of a server that exited with `exit_code` before `/readyz` answered."""
    for line in reversed(log.splitlines()):
        at = line.find(MODEL_PROCESS_DIED_MARKER)
        if at >= 0:
            return (
                f"the model process died: {_shorten(line[at + len(MODEL_PROCESS_DIED_MARKER) :])}"
            )
        if LOAD_FAILURE_MARKER in line:
            break
    cause = root_cause_in_log(log)
    if cause is None:
        return f"the model server exited (code {exit_code}) before it became ready"
    return f"the model could not be loaded: {cause}"


def root_cause_in_log(log: str) -> str | None:
    """The runtime's own last word, else the innermost error of the last traceback, else None."""
    lines = log.splitlines()
    for line in reversed(lines):
        at = line.find(LOAD_FAILURE_MARKER)
        if at >= 0:
            return _shorten(line[at + len(LOAD_FAILURE_MARKER) :])
    return _innermost_traceback_error(lines)


def _innermost_traceback_error(lines: list[str]) -> str | None:
    """Python prints a chain innermost first: walk back from the last exception line while the
    text before its traceback says it was caused by (or raised while handling) an earlier one."""
    starts = [index for index, line in enumerate(lines) if line.strip() == _TRACEBACK]
    if not starts:
        return None
    block = len(starts) - 1
    cause = _exception_line(lines, starts[block])
    while block > 0 and _chained_to_previous(lines, starts[block - 1], starts[block]):
        block -= 1
        cause = _exception_line(lines, starts[block]) or cause
    return _shorten(cause) if cause else None


def _exception_line(lines: list[str], start: int) -> str | None:
    """The `Type: message` line ending the traceback that starts at `start`: the first line
    after its indented frames."""
    for line in lines[start + 1 :]:
        if line.startswith((" ", "\t")) or not line.strip():
            continue
        text = line.strip()
        return text if _EXCEPTION_LINE.match(text) else None
    return None


def _chained_to_previous(lines: list[str], previous_start: int, start: int) -> bool:
    between = {line.strip() for line in lines[previous_start:start]}
    return any(sentence in between for sentence in _CHAINED)


def _shorten(cause: str) -> str:
    cause = " ".join(cause.split())
    return cause if len(cause) <= _MAX_CAUSE_CHARS else cause[: _MAX_CAUSE_CHARS - 1] + "…"
