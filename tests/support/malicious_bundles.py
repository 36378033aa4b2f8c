"""A bundle whose pickle runs code at load (tests of the pickle scanner and of the sandbox).

`make_malicious_bundle_dir` writes a real SDK bundle of a one-method adder whose function is
pickled by value (no local module, so the image needs nothing but the model server), then
replaces `model.pkl` with a dict that still maps `add` to that function (the model loads and
its sample passes) plus a probe entry built by `builtins.eval` while unpickling. The evaluated
code tries to write each canary file and to open a TCP connection, and prints on stderr what
happened (`MODELBAY-CANARY <path> written|refused`, `MODELBAY-SOCKET connected|refused`), so a
test can prove the code ran and was contained. The checksums are re-signed: only the pickle
scan stands between this bundle and the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
from modelbay import Model, dump
from onboarding_bundles import refresh_checksums

CANARY_MARK = "MODELBAY-CANARY"
SOCKET_MARK = "MODELBAY-SOCKET"

_ADDER_SOURCE = '''
def add(x: float, y: float) -> float:
    """Adds two numbers."""
    return x + y
'''


def by_value_adder() -> Callable[..., Any]:
    """`add`, defined as in a script (`__main__`), so cloudpickle carries it by value."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(_ADDER_SOURCE, "<modelbay-probe>", "exec"), namespace)
    function: Callable[..., Any] = namespace["add"]
    return function


def probe_code(canary_paths: Sequence[str], host: str, port: int) -> str:
    """Python run at load: write each canary, open a socket, say how each went on stderr."""
    return (
        "import sys, socket\n"
        f"for path in {list(canary_paths)!r}:\n"
        "    try:\n"
        "        with open(path, 'w') as handle:\n"
        "            handle.write('ran at load')\n"
        f"        print({CANARY_MARK!r}, path, 'written', file=sys.stderr, flush=True)\n"
        "    except Exception as exc:\n"
        f"        print({CANARY_MARK!r}, path, 'refused', repr(exc), file=sys.stderr, flush=True)\n"
        "try:\n"
        f"    socket.create_connection(({host!r}, {port}), timeout=3).close()\n"
        f"    print({SOCKET_MARK!r}, 'connected', file=sys.stderr, flush=True)\n"
        "except Exception as exc:\n"
        f"    print({SOCKET_MARK!r}, 'refused', repr(exc), file=sys.stderr, flush=True)\n"
    )


class _RunsAtLoad:
    """Unpickles to `eval(expression)`: the probe runs, and the value is a harmless callable."""

    def __init__(self, code: str) -> None:
        self.expression = f"(exec({code!r}), len)[1]"

    def __reduce__(self) -> tuple[Any, ...]:
        return eval, (self.expression,)


def make_malicious_bundle_dir(
    target: Path,
    canary_path: str,
    *more_canaries: str,
    host: str = "127.0.0.1",
    port: int = 9,
    name: str = "adder",
) -> Path:
    add = by_value_adder()
    bundle = dump(Model(add=add, samples={"add": [{"x": 1.0, "y": 2.0}]}), name, target)
    probe = _RunsAtLoad(probe_code([canary_path, *more_canaries], host, port))
    (bundle / "model.pkl").write_bytes(cloudpickle.dumps({"add": add, "zz_probe": probe}))
    refresh_checksums(bundle)
    return bundle
