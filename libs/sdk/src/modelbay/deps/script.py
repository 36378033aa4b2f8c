"""Loading a contributor's script the way `python script.py` would, without running its main.

`modelbay dump path/to/script.py:model` needs the objects a script defines. Importing it under
its own name would make it a *local module* (shipped whole, every top-level import a
requirement); running it as `__main__` would run its `if __name__ == "__main__":` block. So it
runs as a module named `__modelbay_script_<stem>__`, registered with cloudpickle to be pickled
by value exactly like `__main__`, with the script's directory first on `sys.path` (where
`python script.py` puts it, so helper modules next to it import).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import cloudpickle

from modelbay.deps.modules import SCRIPT_MODULE_PREFIX


class ScriptError(ValueError):
    """The script cannot be found or does not define the requested object."""


def load_script(path: str | Path) -> ModuleType:
    script = Path(path).resolve()
    if not script.is_file():
        raise ScriptError(f"script {path} does not exist")
    name = f"{SCRIPT_MODULE_PREFIX}_{re.sub(r'[^0-9A-Za-z_]', '_', script.stem)}__"
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ScriptError(f"{path} is not a Python script")
    module = importlib.util.module_from_spec(spec)
    if str(script.parent) not in sys.path:
        sys.path.insert(0, str(script.parent))
    # In sys.modules so dataclasses / typing can resolve the script's own names while it runs.
    sys.modules[name] = module
    cloudpickle.register_pickle_by_value(module)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        cloudpickle.unregister_pickle_by_value(module)
        raise
    return module


def load_object(reference: str) -> object:
    """`path/to/script.py:variable` → the variable's value after running the script."""
    path, sep, attribute = reference.rpartition(":")
    if not sep or not path or not attribute.isidentifier():
        raise ScriptError(f"{reference!r}: expected path/to/script.py:variable")
    module = load_script(path)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ScriptError(f"{path} defines no variable {attribute!r}") from None
