"""A model whose import fails inside the image goes `failed` with a one-sentence reason naming
the root cause, read from the real container's log; the log stays in the build's detail."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from modelbay.bundle import archive_to_file
from modelbay_builder.records import BuildStatus, BuildView
from modelbay_builder.store import BuildStore
from modelbay_common.db import transaction
from modelbay_common.events import ValidationFailed
from unloadable_bundles import ROOT_CAUSE, make_unloadable_bundle_dir

pytestmark = pytest.mark.slow

SAFETY_TIMEOUT = 900.0  # not an assertion on speed: only a bound so a hang fails the test


async def _finished_build(builder: Any, name: str, version: int) -> BuildView:
    async def poll() -> BuildView:
        while True:
            async with transaction(builder.service.sessions) as session:
                view = await BuildStore(session).find(builder.owner, name, version)
            if view is not None and view.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED):
                return view
            await asyncio.sleep(1)

    return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


async def _validation_failed(builder: Any, name: str) -> ValidationFailed:
    """The event, once the outbox relay has published it (after the build row committed)."""
    while True:
        for event in builder.events:
            if event.source == "/modelbay/builder" and event.data.name == name:
                return event.event_as(ValidationFailed)
        await asyncio.sleep(0.2)


async def test_a_model_that_cannot_load_fails_naming_the_innermost_error(
    builder: Any, wheelhouse: Any, publish: Any, iris_bundles: Any, tmp_path: Path
) -> None:
    bundle_dir = make_unloadable_bundle_dir(tmp_path / "bundle", tmp_path / "src")
    bundle = archive_to_file(bundle_dir, tmp_path / "unloadable.tar.gz")
    # The iris wheelhouse serves: this model needs nothing beyond the runtime it carries.
    await publish(
        builder,
        bundle,
        wheelhouse,
        version=1,
        python_version=iris_bundles.python_version,
        name="unloadable",
    )
    view = await _finished_build(builder, "unloadable", 1)
    assert view.status is BuildStatus.FAILED
    assert view.failure_kind == "validation"
    assert view.reason == f"the model could not be loaded: {ROOT_CAUSE}"
    assert view.log_tail is not None
    assert "Traceback (most recent call last):" in view.log_tail
    failed = await asyncio.wait_for(_validation_failed(builder, "unloadable"), 60)
    assert failed.reason == view.reason
    assert view.image_digest is None
