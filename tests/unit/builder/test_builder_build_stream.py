"""Reading docker's build stream: the image id, whether the dependency layer came from cache,
and failures with the log tail."""

from __future__ import annotations

from typing import Any

import pytest
from modelbay_builder.build_log import BuildLog
from modelbay_builder.context import PIP_INSTALL_MARKER, VENV_COPY_MARKER
from modelbay_builder.docker_build import follow_build_stream
from modelbay_builder.errors import BuildStepFailed


def stream(*, deps_cached: bool, copy_cached: bool = True) -> list[dict[str, Any]]:
    def cache(flag: bool) -> list[dict[str, Any]]:
        return [{"stream": " ---> Using cache\n"}] if flag else [{"stream": " ---> Running in 1\n"}]

    return [
        {"stream": "Step 1/6 : FROM base AS dependencies\n"},
        {"stream": " ---> 1111\n"},
        {"stream": "Step 2/6 : COPY wheelhouse/ /tmp/wheelhouse/\n"},
        *cache(deps_cached),
        {
            "stream": "Step 3/6 : RUN python3 -m venv /opt/venv  && "
            f"/opt/venv/bin/{PIP_INSTALL_MARKER}"
        },
        {"stream": " --only-binary=:all: -r x\n"},  # a step line split over two chunks
        *cache(deps_cached),
        {"stream": "Step 4/6 : FROM base\n"},
        {"stream": f"Step 5/6 : {VENV_COPY_MARKER}\n"},
        *cache(copy_cached),
        {"stream": "Step 6/6 : COPY bundle/ /model/\n"},
        {"stream": " ---> Running in 2\n"},
        {"aux": {"ID": "sha256:feed"}},
        {"stream": "Successfully built feed\n"},
    ]


def test_cached_dependency_layer_is_detected() -> None:
    built = follow_build_stream(stream(deps_cached=True), BuildLog())
    assert built.image_id == "sha256:feed"
    assert built.dependency_layer_cached is True


def test_fresh_dependency_layer_is_detected() -> None:
    assert (
        follow_build_stream(stream(deps_cached=False), BuildLog()).dependency_layer_cached is False
    )
    rebuilt_copy = stream(deps_cached=True, copy_cached=False)
    assert follow_build_stream(rebuilt_copy, BuildLog()).dependency_layer_cached is False


def test_error_raises_with_the_log_tail() -> None:
    chunks = [
        {"stream": "Step 1/2 : RUN pip install nothing\n"},
        {"stream": "ERROR: No matching distribution found for nothing\n"},
        {"error": "The command '/bin/sh -c pip install nothing' returned a non-zero code: 1"},
    ]
    log = BuildLog()
    with pytest.raises(BuildStepFailed) as raised:
        follow_build_stream(chunks, log)
    assert "returned a non-zero code: 1" in raised.value.reason
    assert "No matching distribution found" in raised.value.log_tail


def test_stream_without_an_image_fails() -> None:
    with pytest.raises(BuildStepFailed, match="without producing an image"):
        follow_build_stream([{"stream": "Step 1/1 : FROM base\n"}], BuildLog())


def test_log_keeps_a_bounded_tail_across_split_chunks() -> None:
    log = BuildLog(max_lines=3)
    log.write("one\ntw")
    log.write("o\nthree\nfour\nfi")
    assert log.tail(10) == "two\nthree\nfour\nfi"
    assert log.tail(2) == "four\nfi"
