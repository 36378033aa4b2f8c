"""A real SDK bundle whose model cannot load in the model server: its method lives in a local
module shipped in `code/`, and that module is then replaced by one raising at import — what a
wheel missing a system library (`OSError: libgomp.so.1: ...`) looks like to the runtime."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

from modelbay import Model, dump
from onboarding_bundles import refresh_checksums

ROOT_CAUSE = "OSError: libgomp.so.1: cannot open shared object file: No such file or directory"
_RAISING_SOURCE = (
    "raise ImportError('the native extension did not load') from OSError(\n"
    "    'libgomp.so.1: cannot open shared object file: No such file or directory'\n"
    ")\n"
)
_WORKING_SOURCE = "def double(x: float) -> float:\n    return 2 * x\n"


def make_unloadable_bundle_dir(target: Path, sources: Path) -> Path:
    """Dump a bundle of a working local module into `target`, then break that module.

    `sources` is a scratch directory for the module (it must outlive the import only)."""
    module_name = f"native_helper_{uuid.uuid4().hex[:8]}"
    sources.mkdir(parents=True, exist_ok=True)
    module_path = sources / f"{module_name}.py"
    module_path.write_text(_WORKING_SOURCE)
    sys.path.insert(0, str(sources))
    try:
        module = importlib.import_module(module_name)
        model = Model(double=module.double, samples={"double": [{"x": 2.0}]})
        bundle = dump(model, "unloadable", target, local_files=[str(module_path)])
    finally:
        sys.path.remove(str(sources))
        sys.modules.pop(module_name, None)
    (bundle / "code" / f"{module_name}.py").write_text(_RAISING_SOURCE)
    refresh_checksums(bundle)
    return bundle
