"""Route of deployment artifacts: `/v1/models/{owner}/{name}/versions/{version}/deploy/{kind}`.

`kind` is `compose` or `kustomize` (`modelbay_common.deployment.DeployKind`), `format` is
`tar.gz` (default) or `zip`. Generated on each request from the version's facts (a few KB):
nothing is stored, so a deployment always reflects what the catalog and builder record now.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from modelbay_common.deployment import ArchiveFormat, DeployKind

from modelbay_gateway.auth import Reader
from modelbay_gateway.context import ContextDep
from modelbay_gateway.service_deploy import open_deployment_download
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.version_ref import ResolvedVersion

router = APIRouter(prefix="/v1/models/{owner}/{name}/versions/{version}", tags=["deployment"])

_KINDS = "; ".join(f"`{kind}`: {kind.description}" for kind in DeployKind)


@router.get(
    "/deploy/{kind}",
    name="download_deployment",
    summary="Download deployment artifacts",
    description=f"Files that run the version (a solution: its nodes and orchestrator). {_KINDS} "
    "Every archive also holds `modelbay-deployment.json`, the facts it was made from. A model "
    "image that serves gRPC (built by the platform: OIP v2 and the model's service) declares its "
    "port 8081 (`grpc`, appProtocol `kubernetes.io/h2c`) beside 8080 (`http`). 409 "
    "`deployment-not-available` while the version is not ready, when it has no registry image, "
    "or when a solution node is missing, invisible to you or not ready.",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                fmt.media_type: {"schema": {"type": "string", "format": "binary"}}
                for fmt in ArchiveFormat
            }
        }
    },
)
async def download_deployment(
    owner: str,
    name: str,
    version: ResolvedVersion,
    kind: DeployKind,
    principal: Reader,
    context: ContextDep,
    archive_format: Annotated[
        ArchiveFormat, Query(alias="format", description="`tar.gz` or `zip`")
    ] = ArchiveFormat.TAR_GZ,
) -> StreamingResponse:
    download = await open_deployment_download(
        context.upstreams, caller_of(principal), owner, name, version, kind, archive_format
    )
    return StreamingResponse(
        download.body, media_type=download.media_type, headers=download.headers
    )
