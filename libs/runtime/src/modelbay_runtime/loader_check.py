"""`python -m modelbay_runtime check BUNDLE_DIR`: run every sample, compare outputs.

This is the "first try" check the platform runs in a fresh environment built only from the
bundle's requirements. Floats compare with a tolerance (a different BLAS or numpy build may
change the last digits); everything else compares exactly. Exit code 0 when every sample
matches, 1 on the first mismatch (reported with method, index, expected and actual) or when
the bundle cannot be loaded.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import Any

from modelbay_runtime.loader import BundleError, LoadedModel, load_bundle

DEFAULT_REL_TOL = 1e-6
DEFAULT_ABS_TOL = 1e-9


@dataclass(frozen=True)
class Mismatch:
    method: str
    index: int
    where: str  # path inside the output, "" for the whole value
    expected: Any
    actual: Any

    def __str__(self) -> str:
        at = f" at {self.where}" if self.where else ""
        return (
            f"sample {self.method}[{self.index}]{at}: expected {_short(self.expected)}, "
            f"got {_short(self.actual)}"
        )


def check_samples(
    model: LoadedModel, *, rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL
) -> tuple[int, Mismatch | None]:
    """Run every recorded sample; return (how many passed, the first mismatch or None)."""
    passed = 0
    for method_name, samples in sorted(model.manifest.get("samples", {}).items()):
        method = model.methods[method_name]
        for index, sample in enumerate(samples):
            try:
                actual = _json_roundtrip(method.call(sample["input"]))
            except Exception as exc:  # the model's own failure is a failed sample, not a crash
                error = f"{type(exc).__name__}: {exc}"
                return passed, Mismatch(method_name, index, "", sample["output"], error)
            where = first_difference(sample["output"], actual, rel_tol, abs_tol)
            if where is not None:
                expected_part, actual_part = _at(sample["output"], actual, where)
                return passed, Mismatch(method_name, index, where, expected_part, actual_part)
            passed += 1
    return passed, None


def first_difference(expected: Any, actual: Any, rel_tol: float, abs_tol: float) -> str | None:
    """Path of the first difference ("" for the root), or None when equal within tolerance."""
    if _is_number(expected) and _is_number(actual):
        same = math.isclose(float(expected), float(actual), rel_tol=rel_tol, abs_tol=abs_tol)
        return None if same or (math.isnan(expected) and math.isnan(actual)) else ""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in expected or key not in actual:
                return f"{key}"
            inner = first_difference(expected[key], actual[key], rel_tol, abs_tol)
            if inner is not None:
                return _join(str(key), inner)
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return ""
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            inner = first_difference(e, a, rel_tol, abs_tol)
            if inner is not None:
                return _join(f"[{index}]", inner)
        return None
    return None if expected == actual else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _join(head: str, tail: str) -> str:
    if not tail:
        return head
    return head + tail if tail.startswith("[") else f"{head}.{tail}"


def _at(expected: Any, actual: Any, where: str) -> tuple[Any, Any]:
    """The values at a path produced by `first_difference` (best effort, for the report)."""
    for segment in _segments(where):
        try:
            expected, actual = expected[segment], actual[segment]
        except (KeyError, IndexError, TypeError):
            break
    return expected, actual


def _segments(where: str) -> list[str | int]:
    segments: list[str | int] = []
    for part in where.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]"):
            segments.append(int(part[1:-1]))
        elif part:
            segments.append(part)
    return segments


def _json_roundtrip(value: Any) -> Any:
    # Samples were stored as JSON: compare like with like (bytes as base64 text, tuples as lists).
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def check_bundle(
    bundle: str, *, rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL
) -> int:
    """The `check` command: 0 when every sample matches, 1 (reason on stderr) otherwise.

    A solution bundle has no model to run (its nodes are other images): its files and document
    are verified, which is what its orchestrator will load."""
    from modelbay_runtime.solution_bundle import (
        SolutionBundle,
        SolutionBundleError,
        is_solution_bundle,
    )

    if is_solution_bundle(bundle):
        try:
            solution = SolutionBundle.read(bundle)
        except (SolutionBundleError, ValueError) as exc:
            print(f"FAIL cannot load the solution {bundle}: {exc}", file=sys.stderr)
            return 1
        print(f"ok: solution {solution.name} ({len(solution.document.nodes)} nodes) verified")
        return 0
    try:
        model = load_bundle(bundle)
    except BundleError as exc:
        print(f"FAIL cannot load {bundle}: {exc}", file=sys.stderr)
        return 1
    passed, mismatch = check_samples(model, rel_tol=rel_tol, abs_tol=abs_tol)
    if mismatch is not None:
        print(f"FAIL {mismatch} ({passed} passed before)", file=sys.stderr)
        return 1
    print(f"ok: {passed} samples of {model.name} ({len(model.methods)} methods) match")
    return 0
