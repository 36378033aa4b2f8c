"""Onboarding's Prometheus series (names in `modelbay_common.metrics`, meaning in
docs/operations.md): accepted upload sizes and refused uploads by reason, resolver durations
and lock-cache hits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from modelbay_common.errors import ModelbayError
from modelbay_common.metrics import platform_metrics


@contextmanager
def counting_upload_rejects() -> Iterator[None]:
    """Counts an upload refused with a problem (its type slug is the reason), then re-raises."""
    try:
        yield
    except ModelbayError as exc:
        platform_metrics().upload_rejects.labels(exc.type_slug).inc()
        raise


def observe_upload_accepted(size_bytes: int) -> None:
    platform_metrics().upload_bytes.observe(size_bytes)


def observe_resolution(outcome: str, reused: bool, seconds: float) -> None:
    """`outcome` is resolved or failed; `reused` whether a stored lock/wheelhouse served it."""
    metrics = platform_metrics()
    metrics.resolution_duration.labels(outcome).observe(seconds)
    metrics.resolver_cache.labels("hit" if reused else "miss").inc()
