"""Routes of downloads: `/v1/models/{owner}/{name}/versions/{version}/{kind}`."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from modelbay_gateway.auth import Reader
from modelbay_gateway.context import ContextDep
from modelbay_gateway.downloads import (
    BlobKind,
    Download,
    open_blob_download,
    open_image_download,
)
from modelbay_gateway.service_models import caller_of

_BINARY: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    }
}
_DESCRIPTIONS: dict[BlobKind, str] = {
    "bundle": "The uploaded bundle archive (tar.gz), SHA-256 checked.",
    "proto": "The model's protobuf interface (`model.proto`).",
    "openapi": "The OpenAPI document of the model's REST API.",
    "sbom": "CycloneDX SBOM of the image's Python packages (once the image is built).",
}


def _streamed(download: Download) -> StreamingResponse:
    return StreamingResponse(
        download.body,
        media_type=download.media_type,
        headers=download.headers,
        # Closes the upstream stream even when the client went away before the first byte.
        background=BackgroundTask(download.close.aclose) if download.close else None,
    )


router = APIRouter(prefix="/v1/models/{owner}/{name}/versions/{version}", tags=["downloads"])


def _add_blob_route(kind: BlobKind) -> None:
    async def download(
        owner: str, name: str, version: int, principal: Reader, context: ContextDep
    ) -> StreamingResponse:
        found = await open_blob_download(
            context.blob_store,
            context.upstreams,
            caller_of(principal),
            owner,
            name,
            version,
            kind,
        )
        return _streamed(found)

    router.add_api_route(
        f"/{kind}",
        download,
        methods=["GET"],
        name=f"download_{kind}",
        summary=f"Download the {kind}",
        description=_DESCRIPTIONS[kind],
        response_class=StreamingResponse,
        responses=_BINARY,
    )


for _kind in _DESCRIPTIONS:
    _add_blob_route(_kind)


@router.get("/image", response_class=StreamingResponse, responses=_BINARY)
async def image(
    owner: str, name: str, version: int, principal: Reader, context: ContextDep
) -> StreamingResponse:
    """The image as a `docker save` tarball (`docker load -i` reads it), for air-gapped use."""
    found = await open_image_download(context.upstreams, caller_of(principal), owner, name, version)
    return _streamed(found)
