"""Route of generated clients: `/v1/models/{owner}/{name}/versions/{version}/clients/{language}`
(docs/clients.md)."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from fastapi import APIRouter, Response

from modelbay_gateway.auth import Reader
from modelbay_gateway.clients import ClientLanguage
from modelbay_gateway.clients.download import client_package
from modelbay_gateway.clients.package import MEDIA_TYPE
from modelbay_gateway.context import ContextDep
from modelbay_gateway.problems import problem_responses
from modelbay_gateway.service_models import caller_of
from modelbay_gateway.version_ref import ResolvedVersion

router = APIRouter(prefix="/v1/models/{owner}/{name}/versions/{version}", tags=["downloads"])


@router.get(
    "/clients/{language}",
    name="download_client",
    summary="Download a generated client package",
    description=(
        "A client package generated from the version's `model.proto`, as a tar.gz: the message "
        "classes (protoc's for Python and Java, `@bufbuild/protobuf` v2 schemas for TypeScript) "
        "and a typed client with one call per method over HTTP with protobuf "
        "(`application/x-protobuf`) and one with JSON, plus a README with the snippet to install "
        "and call. `pip install` reads the Python archive as it is."
    ),
    response_class=Response,
    responses={
        200: {"content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(409),  # the stored proto does not compile
    },
)
async def download_client(
    owner: str,
    name: str,
    version: ResolvedVersion,
    language: ClientLanguage,
    principal: Reader,
    context: ContextDep,
) -> Response:
    caller = caller_of(principal)
    package = await client_package(
        context.blob_store, context.upstreams, caller, owner, name, version, language
    )
    headers = {"Content-Disposition": f'attachment; filename="{package.filename}"'}
    return Response(package.content, media_type=package.media_type, headers=headers)
