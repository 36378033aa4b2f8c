"""Structured logging with the standard library only.

``configure_logging(level, json=True)`` makes every record one JSON object per line with
``timestamp``, ``level``, ``logger``, ``message``, any ``extra={...}`` fields and the fields bound
with :func:`log_context` (e.g. the event id a consumer is handling). ``json=False`` prints the same
information for a human at a terminal.
"""

from __future__ import annotations

import contextlib
import contextvars
import json as jsonlib
import logging
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
# Servers that install their own handlers; their records are sent through ours instead.
_ADOPTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "aio_pika", "aiormq")

_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "modelbay_log_context", default=None
)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every record logged inside the block (async tasks inherit them)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def _context_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(_context.get() or {})
    for key, value in record.__dict__.items():
        if key not in _STANDARD_RECORD_ATTRS and not key.startswith("_"):
            fields[key] = value
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values JSON cannot encode are written with ``str()``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _context_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(entry, default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """``2024-05-01T10:00:00.000Z INFO  catalog.api: message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value!r}" for key, value in _context_fields(record).items())
        line = f"{_timestamp(record)} {record.levelname:<5} {record.name}: {record.getMessage()}"
        if fields:
            line = f"{line}  {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class _ModelbayHandler(logging.StreamHandler[TextIO]):
    """Marks the handler we installed, so a second configure_logging replaces it."""


def configure_logging(
    level: str | int = "INFO", json: bool = True, *, stream: TextIO | None = None
) -> None:
    """Send every log record to ``stream`` (default stderr) as JSON lines or human lines.

    Safe to call more than once (e.g. by each service of the embedded mode): the previous
    Modelbay handler is replaced, handlers installed by others are left alone.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, _ModelbayHandler):
            root.removeHandler(existing)
    handler = _ModelbayHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else HumanFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in _ADOPTED_LOGGERS:
        adopted = logging.getLogger(name)
        adopted.handlers.clear()
        adopted.propagate = True
