"""A bundle whose pickle runs code at load (tests of the pickle scanner and of the sandbox).

`make_malicious_bundle_dir` writes a real SDK bundle of the one-method `adder`, then replaces its
`model.pkl` with a dict that still maps `add` to the real function (so the model loads and its
sample passes) plus a probe entry built by `builtins.eval` at unpickling time. The evaluated
code tries to write a canary file and to open a TCP connection, and prints what happened on
stderr (the validation container's log), so a test can prove the code ran and was contained.
The checksums are re-signed, so only the pickle scan stands between it and the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cloudpickle
from onboarding_bundles import add, make_bundle_dir, refresh_checksums

# What the probe prints, one line each, so a test can find it in a log.
CANARY_MARK = "MODELBAY-CANARY"
SOCKET_MARK = "MODELBAY-SOCKET"


def probe_code(canary_path: str, host: str, port: int) -> str:
    """Python run at load: write the canary, open a socket, say how each went."""
    return (
        "import sys, socket\n"
        "try:\n"
        f"    open({canary_path!r}, 'w').write('ran at load')\n"
        f"    print({CANARY_MARK!r}, 'written', file=sys.stderr, flush=True)\n"
        "except Exception as exc:\n"
        f"    print({CANARY_MARK!r}, 'refused', repr(exc), file=sys.stderr, flush=True)\n"
        "try:\n"
        f"    socket.create_connection(({host!r}, {port}), timeout=2).close()\n"
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


def malicious_pickle(canary_path: str, host: str = "127.0.0.1", port: int = 9) -> bytes:
    return cloudpickle.dumps(
        {"add": add, "zz_probe": _RunsAtLoad(probe_code(canary_path, host, port))}
    )


def make_malicious_bundle_dir(
    target: Path, canary_path: str, *, host: str = "127.0.0.1", port: int = 9, name: str = "adder"
) -> Path:
    bundle = make_bundle_dir(target, name=name)
    (bundle / "model.pkl").write_bytes(malicious_pickle(canary_path, host, port))
    refresh_checksums(bundle)
    return bundle
