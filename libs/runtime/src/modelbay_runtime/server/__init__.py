"""The Modelbay model server (needs the `server` extra): REST + protobuf + OIP v2 + batching.

`create_app()` returns the ASGI application; `python -m modelbay_runtime serve BUNDLE_DIR`
runs it under uvicorn. Nothing is built at import time.
"""

from modelbay_runtime.server.app import ModelServer, create_app
from modelbay_runtime.server.settings import RuntimeSettings

__all__ = ["ModelServer", "RuntimeSettings", "create_app"]
