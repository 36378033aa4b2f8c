"""Finding the sample input used for the warm-up call before the server reports ready."""

from __future__ import annotations

from typing import Any

from modelbay_runtime.server.model import ServableModel


def first_sample(model: ServableModel) -> tuple[str, dict[str, Any]] | None:
    """(method, input payload) of the bundle's first sample, or None if it has none.

    Samples live in the manifest: `samples` maps each method to a list of
    `{"input": ..., "output": ...}` (what `modelbay.dump` writes); a list of
    `{"method": ..., "input": ...}` or `methods.<name>.samples` are read too.
    """
    manifest = model.manifest
    samples = manifest.get("samples") or []
    if isinstance(samples, dict):
        samples = [{**s, "method": m} for m, items in samples.items() for s in items or []]
    for sample in samples:
        found = _sample(model, sample.get("method"), sample)
        if found:
            return found
    methods = manifest.get("methods")
    entries = methods.items() if isinstance(methods, dict) else []
    for name, entry in entries:
        for sample in (entry or {}).get("samples") or []:
            found = _sample(model, name, sample)
            if found:
                return found
    return None


def _sample(model: ServableModel, method: Any, sample: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(sample, dict) or method not in model.methods:
        return None
    payload = sample.get("input", sample.get("inputs"))
    return (method, payload) if isinstance(payload, dict) else None
