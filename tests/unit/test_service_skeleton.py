"""Every service is composed the same way: a `ServiceHost` with its schema, its consumer table,
its app, and an outbox relay exactly when it has an outbox (no I/O: nothing is started)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from modelbay_builder.main import build_service as build_builder
from modelbay_builder.settings import BuilderSettings
from modelbay_catalog.lifecycle import LIFECYCLE_EVENT_TYPES
from modelbay_catalog.main import build_service as build_catalog
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.bus import InProcessBus
from modelbay_common.events import (
    DependenciesResolved,
    MirrorFailed,
    MirrorRequested,
    ModelUploaded,
    VersionMirrored,
)
from modelbay_common.serving import ServiceHost
from modelbay_gateway.handlers import EVERY_MODEL_EVENT
from modelbay_gateway.main import build_service as build_gateway
from modelbay_gateway.settings import GatewaySettings
from modelbay_onboarding.main import build_service as build_onboarding
from modelbay_onboarding.settings import OnboardingSettings

UNREACHABLE = "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none"


def _common(tmp_path: Path) -> dict[str, Any]:
    return {"database_url": UNREACHABLE, "bus_url": "memory://", "blob_url": tmp_path.as_uri()}


def _onboarding(tmp_path: Path) -> ServiceHost:
    return build_onboarding(OnboardingSettings(**_common(tmp_path)))


def _catalog(tmp_path: Path) -> ServiceHost:
    return build_catalog(CatalogSettings(**_common(tmp_path)))


def _builder(tmp_path: Path) -> ServiceHost:
    # A declared mode: `auto` would ask a Docker engine, which a unit test must not.
    return build_builder(BuilderSettings(**_common(tmp_path), mode="docker"))


def _gateway(tmp_path: Path) -> ServiceHost:
    return build_gateway(GatewaySettings(**_common(tmp_path)))


SERVICES: dict[str, tuple[Callable[[Path], ServiceHost], dict[str, set[str]], bool]] = {
    # name: (build, {consumer: event types it subscribes to}, has an outbox)
    "onboarding": (_onboarding, {"onboarding.resolver": {ModelUploaded.type}}, True),
    # The builder's answers to mirror requests (federation) have a queue of their own.
    "catalog": (
        _catalog,
        {
            "catalog.versions": set(LIFECYCLE_EVENT_TYPES),
            "catalog.mirrors": {VersionMirrored.type, MirrorFailed.type},
        },
        True,
    ),
    # Mirrors (federation) have a queue of their own: a long copy never delays a build.
    "builder": (
        _builder,
        {"builder.builds": {DependenciesResolved.type}, "builder.mirrors": {MirrorRequested.type}},
        True,
    ),
    # The gateway writes organisation events through its own outbox.
    "gateway": (_gateway, {"gateway.sse": set(EVERY_MODEL_EVENT)}, True),
}


@pytest.mark.parametrize("name", list(SERVICES))
async def test_each_service_declares_its_parts_to_the_host(name: str, tmp_path: Path) -> None:
    build, consumers, has_outbox = SERVICES[name]
    service = build(tmp_path)
    try:
        assert isinstance(service, ServiceHost)
        assert service.schema == name
        declared = {consumer: set(types) for consumer, (types, _) in service.consumers.items()}
        assert declared == consumers
        assert (service.relay is not None) == has_outbox
        assert service.app.openapi()["paths"], f"{name} serves no routes"
        assert service.clients.owns_engine
        assert service.clients.owns_bus
    finally:
        await service.stop()  # never started: disposes only the engine it opened


async def test_onboarding_without_its_resolver_consumes_nothing(tmp_path: Path) -> None:
    settings = OnboardingSettings(**_common(tmp_path), resolver_enabled=False)
    service = build_onboarding(settings, bus=InProcessBus())
    try:
        assert service.consumers == {}
        assert not service.clients.owns_bus
    finally:
        await service.stop()
