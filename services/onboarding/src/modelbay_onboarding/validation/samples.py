"""Samples: every one must fit its method's schemas; a method without any is reported.

The builder validates each image by calling its samples, so a method without one is checked
for readiness only. The paper's Fig. 2 script records no samples and must still go through,
so by default that is a warning in the 202 answer; `MODELBAY_ONBOARDING_REQUIRE_SAMPLES=true`
makes it a rejection. Samples are checked against the JSON Schemas (draft 2020-12) the SDK
derived from the same type tree as the proto file: they describe exactly the natural JSON the
model server accepts and produces. Nothing is unpickled or run here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from modelbay_runtime.loader import SCHEMAS

from modelbay_onboarding.validation.manifest import Manifest
from modelbay_onboarding.validation.problems import BundleProblems

_SIDES = ("input", "output")


def parse_schemas(
    raw: bytes | None, manifest: Manifest, problems: BundleProblems
) -> dict[str, Any]:
    """`schemas.json` as {method: {"input": schema, "output": schema}}, each a valid schema."""
    if raw is None:
        problems.add(SCHEMAS, "is missing: the SDK writes the JSON Schemas of every method there")
        return {}
    try:
        document = json.loads(raw)
    except ValueError as exc:
        problems.add(SCHEMAS, f"is not valid JSON ({exc})")
        return {}
    if not isinstance(document, dict):
        problems.add(SCHEMAS, "must be a JSON object keyed by method name")
        return {}
    for method in manifest.methods:
        entry = document.get(method)
        if not isinstance(entry, Mapping):
            problems.add(f"{SCHEMAS}.{method}", "is missing")
            continue
        for side in _SIDES:
            _check_schema(f"{SCHEMAS}.{method}.{side}", entry.get(side), problems)
    return document


def _check_schema(where: str, schema: Any, problems: BundleProblems) -> None:
    if not isinstance(schema, Mapping):
        problems.add(where, "is missing or not a JSON Schema object")
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        problems.add(where, f"is not a valid JSON Schema: {exc.message}")


def check_samples(
    manifest: Manifest, schemas: Mapping[str, Any], problems: BundleProblems, *, required: bool
) -> list[str]:
    """Record ill-typed samples in `problems`; return warnings about methods without samples."""
    warnings: list[str] = []
    for method in sorted(set(manifest.samples) - set(manifest.methods)):
        problems.add(f"manifest.samples.{method}", "has samples for a method the model lacks")
    for method in manifest.methods:
        samples = manifest.samples.get(method, [])
        if not samples:
            advice = (
                "has no sample; give Model(..., samples={...}) at least one input per method "
                "so the platform can check the image's answers"
            )
            if required:
                problems.add(f"manifest.samples.{method}", advice)
            else:
                warnings.append(f"method {method!r} {advice} (it is only checked to start)")
            continue
        for index, sample in enumerate(samples):
            for side in _SIDES:
                schema = schemas.get(method, {}).get(side)
                value = sample.input if side == "input" else sample.output
                where = f"manifest.samples.{method}[{index}].{side}"
                _check_value(where, value, schema, problems)
    return warnings


def _check_value(where: str, value: Any, schema: Any, problems: BundleProblems) -> None:
    if not isinstance(schema, Mapping):
        return  # already reported by parse_schemas
    try:
        error = best_match(Draft202012Validator(schema).iter_errors(value))
    except SchemaError:
        return  # already reported by parse_schemas
    if error is None:
        return
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    problems.add(f"{where}{path}", message)
