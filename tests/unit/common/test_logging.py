"""configure_logging: JSON lines with context fields, or human lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from modelbay_common.logging import configure_logging, log_context


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_standard_and_context_fields() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)

    with log_context(event_id="evt-1"):
        logging.getLogger("modelbay.catalog").info(
            "published %s", "iris", extra={"model": "iris", "version": 3}
        )
    logging.getLogger("modelbay.catalog").debug("not shown at INFO")

    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "modelbay.catalog"
    assert entry["message"] == "published iris"
    assert entry["model"] == "iris"
    assert entry["version"] == 3
    assert entry["event_id"] == "evt-1"
    assert entry["timestamp"].endswith("Z")


def test_exceptions_and_unserialisable_values_stay_one_json_line() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, stream=stream)

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed", extra={"path": object()})

    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert "ValueError: boom" in entry["exception"]
    assert entry["path"].startswith("<object object")


def test_human_format_and_reconfiguration_replace_our_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", json=True, stream=first)
    configure_logging("warning", json=False, stream=second)

    logging.getLogger("modelbay.builder").warning("disk low", extra={"free_mb": 12})
    logging.getLogger("modelbay.builder").info("hidden")

    assert first.getvalue() == ""
    [line] = second.getvalue().splitlines()
    assert "WARNING modelbay.builder: disk low" in line
    assert "free_mb=12" in line
