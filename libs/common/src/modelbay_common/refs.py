"""Image references of the builder's local-process mode: the one spelling of their scheme.

Without a Docker engine, the embedded mode serves each model as a local process from a venv
(docs/builder.md). `ImageBuilt.image_ref` is then `local-process://<host>:<port>/<owner>/<name>/
<version>`: there is no image to pull, only the URL the model server answers at. The builder makes
such refs; the catalog (no pull line), the gateway (the serve URL) and the CLI read them.
"""

from __future__ import annotations

__all__ = [
    "LOCAL_PROCESS_SCHEME",
    "is_local_process_ref",
    "local_process_ref",
    "served_url",
]

LOCAL_PROCESS_SCHEME = "local-process://"


def local_process_ref(host: str, port: int, owner: str, name: str, version: int) -> str:
    return f"{LOCAL_PROCESS_SCHEME}{host}:{port}/{owner}/{name}/{version}"


def is_local_process_ref(image_ref: str | None) -> bool:
    return image_ref is not None and image_ref.startswith(LOCAL_PROCESS_SCHEME)


def served_url(image_ref: str | None) -> str | None:
    """`http://<host>:<port>` for a local-process ref; None for a registry image (or none)."""
    if image_ref is None or not is_local_process_ref(image_ref):
        return None
    address = image_ref.removeprefix(LOCAL_PROCESS_SCHEME).split("/", 1)[0]
    return f"http://{address}"
