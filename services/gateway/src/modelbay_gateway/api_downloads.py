"""Routes of downloads: `/v1/models/{owner}/{name}/versions/{version}/{kind}`.

One route per `ArtifactKind`, its OpenAPI summary, description and media type taken from the
enum: a new kind in `modelbay_common.artifacts` gets its route here without a change.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from modelbay_common.artifacts import ArtifactKind
from starlette.background import BackgroundTask

from modelbay_gateway.auth import Reader
from modelbay_gateway.context import ContextDep
from modelbay_gateway.downloads import Download, open_blob_download, open_image_download
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.version_ref import ResolvedVersion


def _binary(kind: ArtifactKind) -> dict[int | str, dict[str, Any]]:
    media_type = kind.media_type.split(";")[0]
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


def _streamed(download: Download) -> StreamingResponse:
    return StreamingResponse(
        download.body,
        media_type=download.media_type,
        headers=download.headers,
        # Closes the upstream stream even when the client went away before the first byte.
        background=BackgroundTask(download.close.aclose) if download.close else None,
    )


router = APIRouter(prefix="/v1/models/{owner}/{name}/versions/{version}", tags=["downloads"])


def _add_route(kind: ArtifactKind) -> None:
    async def download(
        owner: str, name: str, version: ResolvedVersion, principal: Reader, context: ContextDep
    ) -> StreamingResponse:
        caller = caller_of(principal)
        if kind.in_blob_store:
            found = await open_blob_download(
                context.blob_store, context.upstreams, caller, owner, name, version, kind
            )
        else:
            found = await open_image_download(context.upstreams, caller, owner, name, version)
        return _streamed(found)

    router.add_api_route(
        f"/{kind}",
        download,
        methods=["GET"],
        name=f"download_{kind}",
        summary=f"Download the {kind}",
        description=kind.description,
        response_class=StreamingResponse,
        responses=_binary(kind),
    )


for _kind in ArtifactKind:
    _add_route(_kind)
