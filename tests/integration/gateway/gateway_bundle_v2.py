"""The second version of the gateway tests' `adder`, in a module of its own (the SDK ships the
defining module as local code): `add` lost its `y` input, a breaking interface change."""

from __future__ import annotations

from pathlib import Path

from modelbay import Model, dump


def add(x: float) -> float:
    """Adds one."""
    return x + 1.0


def make_bundle(directory: Path, name: str = "adder") -> Path:
    """The bundle directory written by the SDK (one method, one sample)."""
    model = Model(add=add, samples={"add": [{"x": 1.0}]})
    return dump(model, name, directory / name, description="adds one", license="MIT")
