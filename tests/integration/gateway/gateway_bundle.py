"""The model the gateway tests push, in a module of its own: the SDK ships the defining module
as local code, so it must import nothing but the SDK."""

from __future__ import annotations

from pathlib import Path

from modelbay import Model, dump
from modelbay.bundle import archive_to_file


def add(x: float, y: float) -> float:
    """Adds two numbers."""
    return x + y


def make_archive(directory: Path, name: str = "adder") -> Path:
    """A real bundle archive written by the SDK (one method, one sample)."""
    model = Model(add=add, samples={"add": [{"x": 1.0, "y": 2.0}]})
    bundle = dump(model, name, directory / name, description="adds two numbers", license="MIT")
    return archive_to_file(bundle, directory / f"{name}.tar.gz")
