"""The platform's Prometheus metrics: one catalogue of names, one registry per process.

Every service records into `platform_metrics()` (made on first use, never at import). One registry
per process is what the embedded mode needs to serve every service's series on its one port; the
`service` label (the service's schema name) tells them apart, and in stack mode each process
exposes only its own. Names follow the Prometheus conventions: base units (seconds, bytes),
`_total` on counters (added by prometheus-client), labels of bounded cardinality only (route
templates, never concrete paths; event types; outcomes and reasons from fixed sets).

Values that live in a database or a broker (outbox backlog, DLQ depth, builder queue) are not
counted in memory: services register a *scrape probe* (`scrape_probes().register`) that reads
them when `/metrics` is scraped, each bounded by a timeout (`modelbay_common.observability`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["PlatformMetrics", "ScrapeProbes", "platform_metrics", "scrape_probes"]

log = logging.getLogger(__name__)

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HANDLER_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)
SLOW_WORK_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)
BYTES_BUCKETS = tuple(float(1024**2 * 4**power) for power in range(7))  # 1 MiB .. 4 GiB


class PlatformMetrics:
    """Every metric a Modelbay service records; see docs/operations.md for what each means."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "modelbay_http_requests",
            "HTTP requests answered, by service, route template, method and status code.",
            ["service", "route", "method", "status"],
            registry=r,
        )
        self.http_request_duration = Histogram(
            "modelbay_http_request_duration_seconds",
            "Time from request start to the end of the response, by route template.",
            ["service", "route", "method"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.events_consumed = Counter(
            "modelbay_events_consumed",
            "Event deliveries handled by a consumer, by event type and outcome (handled, failed).",
            ["consumer", "type", "outcome"],
            registry=r,
        )
        self.event_handler_duration = Histogram(
            "modelbay_event_handler_duration_seconds",
            "Time a consumer's handler took for one delivery, by event type.",
            ["consumer", "type"],
            buckets=HANDLER_BUCKETS,
            registry=r,
        )
        self.event_redeliveries = Counter(
            "modelbay_event_redeliveries",
            "Deliveries that were not the first of their event (a retry or a broker redelivery).",
            ["consumer"],
            registry=r,
        )
        self.events_published = Counter(
            "modelbay_events_published",
            "Events the outbox relay published (broker-confirmed), by producing service and type.",
            ["service", "type"],
            registry=r,
        )
        self.inbox_duplicates = Counter(
            "modelbay_inbox_duplicates_skipped",
            "Deliveries a consumer skipped because its inbox had already handled the event id.",
            ["consumer"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "modelbay_outbox_backlog_events",
            "Outbox rows not yet published (read on scrape).",
            ["service"],
            registry=r,
        )
        self.outbox_oldest_age = Gauge(
            "modelbay_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished outbox row, 0 when none (read on scrape).",
            ["service"],
            registry=r,
        )
        self.dead_letters = Gauge(
            "modelbay_dlq_messages",
            "Messages waiting in a consumer's dead-letter queue (read on scrape).",
            ["consumer"],
            registry=r,
        )
        self.scrape_probe_failures = Counter(
            "modelbay_scrape_probe_failures",
            "Scrape-time reads (database, broker) that failed or timed out, by probe.",
            ["probe"],
            registry=r,
        )
        self._builder_and_onboarding(r)

    def _builder_and_onboarding(self, r: CollectorRegistry) -> None:
        self.build_queue = Gauge(
            "modelbay_builder_builds",
            "Build records by status (queued, building, ...), read on scrape.",
            ["status"],
            registry=r,
        )
        self.build_duration = Histogram(
            "modelbay_builder_build_duration_seconds",
            "Time to build one image (or local-process venv), by outcome.",
            ["outcome"],
            buckets=SLOW_WORK_BUCKETS,
            registry=r,
        )
        self.validation_duration = Histogram(
            "modelbay_builder_validation_duration_seconds",
            "Time to validate one built model against its samples.",
            [],
            buckets=SLOW_WORK_BUCKETS,
            registry=r,
        )
        self.builds_finished = Counter(
            "modelbay_builder_builds_finished",
            "Builds that ended, by outcome (ready, build_failed, validation_failed).",
            ["outcome"],
            registry=r,
        )
        self.dependency_layer_cache = Counter(
            "modelbay_builder_dependency_layer_lookups",
            "Dependency-layer (base image with the wheelhouse) lookups, by result (hit, miss).",
            ["result"],
            registry=r,
        )
        self.mirrors_finished = Counter(
            "modelbay_builder_mirrors_finished",
            "Versions of a peer the builder tried to mirror, by outcome (mirrored, refused: "
            "signature/digest/size did not verify, unavailable: origin or registry unreachable, "
            "error: an unexpected exception, retried by the bus).",
            ["outcome"],
            registry=r,
        )
        self.mirror_duration = Histogram(
            "modelbay_builder_mirror_duration_seconds",
            "Time to mirror one version of a peer (verify, copy image and artifacts), by outcome.",
            ["outcome"],
            buckets=SLOW_WORK_BUCKETS,
            registry=r,
        )
        self.resolution_duration = Histogram(
            "modelbay_resolver_duration_seconds",
            "Time to resolve one version's dependencies (lock and wheelhouse), by outcome.",
            ["outcome"],
            buckets=SLOW_WORK_BUCKETS,
            registry=r,
        )
        self.resolver_cache = Counter(
            "modelbay_resolver_cache_lookups",
            "Resolver cache lookups (same requirements resolved before), by result (hit, miss).",
            ["result"],
            registry=r,
        )
        self.upload_bytes = Histogram(
            "modelbay_upload_bytes",
            "Size of accepted model bundle uploads.",
            [],
            buckets=BYTES_BUCKETS,
            registry=r,
        )
        self.upload_rejects = Counter(
            "modelbay_upload_rejects",
            "Uploads refused, by reason (the problem type slug, e.g. bundle-invalid, too-large).",
            ["reason"],
            registry=r,
        )
        self.sse_subscribers = Gauge(
            "modelbay_sse_subscribers",
            "Clients connected to the gateway's server-sent event stream.",
            [],
            registry=r,
        )
        self.gc_reclaimed_bytes = Counter(
            "modelbay_gc_reclaimed_bytes",
            "Bytes the artifact garbage collector reclaimed (not dry runs), by artifact kind.",
            ["kind"],
            registry=r,
        )
        self.gc_reclaimed_objects = Counter(
            "modelbay_gc_reclaimed_objects",
            "Artifacts the garbage collector reclaimed (not dry runs), by kind (bundle, image...).",
            ["kind"],
            registry=r,
        )
        self.gc_runs = Counter(
            "modelbay_gc_runs",
            "Garbage collector runs, by trigger (admin, schedule) and outcome (ok, failed).",
            ["trigger", "outcome"],
            registry=r,
        )


@cache
def platform_metrics() -> PlatformMetrics:
    """The process's metrics (made on first use, so importing this module registers nothing)."""
    return PlatformMetrics()


Probe = Callable[[], Awaitable[None]]
"""Reads a value that lives elsewhere (a table, a queue) and sets a gauge with it."""


@dataclass
class ScrapeProbes:
    """The probes run before each scrape; a host registers its own and removes them on stop."""

    timeout_seconds: float = 2.0
    _probes: dict[str, tuple[str, Probe]] = field(default_factory=dict)

    def register(self, key: str, probe: Probe, *, label: str | None = None) -> None:
        """`key` identifies the registration; `label` names the probe in the failure counter."""
        self._probes[key] = (label or key, probe)

    def unregister(self, name: str) -> None:
        self._probes.pop(name, None)

    async def refresh(self) -> None:
        """Run every probe at once, each bounded: a dead database slows a scrape, never hangs it."""
        probes = list(self._probes.values())
        await asyncio.gather(*(self._run(label, probe) for label, probe in probes))

    async def _run(self, name: str, probe: Probe) -> None:
        try:
            await asyncio.wait_for(probe(), timeout=self.timeout_seconds)
        except Exception as exc:  # a probe must never fail the scrape
            log.warning("metrics probe %s failed: %s: %s", name, type(exc).__name__, exc)
            platform_metrics().scrape_probe_failures.labels(name).inc()


@cache
def scrape_probes() -> ScrapeProbes:
    return ScrapeProbes()
