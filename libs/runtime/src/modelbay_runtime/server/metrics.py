"""Prometheus metrics of the model server.

Each app owns its registry (tests build many apps in one process). With several uvicorn workers
the CLI sets PROMETHEUS_MULTIPROC_DIR, prometheus-client then keeps values in shared files and
`/metrics` aggregates every worker's values, whichever worker answers the scrape.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
REQUEST_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
UNKNOWN_METHOD = "_unknown"


class ServerMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "modelbay_requests",
            "Prediction requests by model method, HTTP status and body encoding.",
            ["method", "status", "encoding"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "modelbay_request_duration_seconds",
            "Time from request start to response, per model method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._batch_rows = Histogram(
            "modelbay_batch_rows",
            "Rows per model call of a batchable method (1 request alone or a merged batch).",
            ["method"],
            buckets=ROW_BUCKETS,
            registry=self.registry,
        )
        self._batch_requests = Histogram(
            "modelbay_batch_requests",
            "Requests served by one model call of a batchable method.",
            ["method"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, int, str], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._errors = Counter(
            "modelbay_errors",
            "Error responses by kind (the problem type slug, e.g. invalid-input, model-error).",
            ["kind"],
            registry=self.registry,
        )

    def request_done(self, method: str, status: int, encoding: str, seconds: float) -> None:
        # The labelled children are cached: `labels()` takes a lock and builds a key on every
        # call, which showed in the event loop's profile at 2 lookups per request (issue 14).
        # The keys are bounded (the model's methods, a few statuses and encodings).
        key = (method, status, encoding)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._requests.labels(method, str(status), encoding)
            self._request_children[key] = counter
        counter.inc()
        latency = self._latency_children.get(method)
        if latency is None:
            latency = self._latency_children[method] = self._latency.labels(method)
        latency.observe(seconds)

    def error(self, kind: str) -> None:
        self._errors.labels(kind).inc()

    def batch(self, method: str, rows: int, requests: int) -> None:
        self._batch_rows.labels(method).observe(rows)
        self._batch_requests.labels(method).observe(requests)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)
