"""The Modelbay model server (needs the `server` extra): REST + protobuf + OIP v2 + batching.

`create_app()` returns the ASGI application; `python -m modelbay_runtime serve BUNDLE_DIR`
runs it under uvicorn. Nothing is built at import time.

The names below are imported when first used: the model process (`model_worker.py`) is started
as `python -m modelbay_runtime.server.model_worker`, which imports this package first, and it
needs none of the HTTP side (issue 14: its start-up is part of the model's cold start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelbay_runtime.server.app import ModelServer, create_app
    from modelbay_runtime.server.settings import RuntimeSettings

__all__ = ["ModelServer", "RuntimeSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name in ("ModelServer", "create_app"):
        from modelbay_runtime.server import app

        return getattr(app, name)
    if name == "RuntimeSettings":
        from modelbay_runtime.server.settings import RuntimeSettings

        return RuntimeSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
