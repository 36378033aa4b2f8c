"""Fixtures of the gateway's integration tests: gateway + catalog + onboarding on real Postgres,
composed in-process through their `build_service` (see gateway_stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gateway_bundle import make_archive
from gateway_limits import GATEWAY_MAX_UPLOAD
from gateway_services import in_process_services
from gateway_stack import Stack


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def archive_bytes(archive: Path) -> bytes:
    return archive.read_bytes()


@pytest.fixture(scope="module")
def gateway_overrides() -> dict[str, Any]:
    """Gateway settings a test module changes (test_gateway_webhooks.py: loopback targets)."""
    return {}


@pytest.fixture(scope="module")
async def stack(
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    gateway_overrides: dict[str, Any],
) -> AsyncIterator[Stack]:
    gateway = {"max_upload_bytes": GATEWAY_MAX_UPLOAD, **gateway_overrides}
    blob_dir = tmp_path_factory.mktemp("blobs")
    async with in_process_services(module_database_url, blob_dir, gateway=gateway) as services:
        yield services.stack
