"""Dump a model without third-party imports as a bundle archive: `python doubler_script.py OUT
DESC`. Its image is the base, the model server's venv and the bundle: the smallest real image,
for backends whose cost grows with the image (buildah's vfs storage copies it per step)."""

import sys
import tempfile
from pathlib import Path

from modelbay import List, Model, create_namedtuple
from modelbay.bundle import dump, write_archive

out, description = Path(sys.argv[1]), sys.argv[2]
Numbers = create_namedtuple("Numbers", [("x", List[float])])


def double(numbers: Numbers) -> Numbers:  # type: ignore[valid-type]
    return Numbers(x=[2 * value for value in numbers.x])  # type: ignore[attr-defined]


model = Model(double=double, samples={"double": [{"x": [1.0, 2.5]}]})
with tempfile.TemporaryDirectory() as tmp:
    bundle_dir = dump(
        model, "doubler", Path(tmp) / "bundle", description=description, license="MIT"
    )
    with out.open("wb") as stream:
        write_archive(bundle_dir, stream)
