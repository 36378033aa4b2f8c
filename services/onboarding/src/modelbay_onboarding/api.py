"""Internal HTTP API of the onboarding service (called by the gateway only).

`POST /internal/uploads/{owner}/{name}`: the bundle archive as the raw, streamed body.
`POST /internal/solutions/{owner}/{name}`: a solution document (solutions/api.py).
The route owns the transaction; every check runs before anything is stored. What the routes
need (settings, the upload use cases, sessions) is put on `app.state` by `create_app` and read
by typed dependencies, like every service's API.
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from modelbay_common.access import (
    ADMIN_HEADER,
    ORG_HEADER,
    USER_HEADER,
    Caller,
    InvalidCallerHeaderError,
    caller_from_headers,
)
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import BadRequest, UnsupportedMediaType, install_problem_handlers
from modelbay_common.tracing import span

from modelbay_onboarding.api_gc import router as gc_router
from modelbay_onboarding.api_pickles import router as pickle_allowances_router
from modelbay_onboarding.names import check_model_name
from modelbay_onboarding.onboarding_metrics import counting_upload_rejects, observe_upload_accepted
from modelbay_onboarding.schemas import Health, UploadAccepted
from modelbay_onboarding.service import UploadService, signed_in_user
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.solutions.api import router as solutions_router
from modelbay_onboarding.solutions.service import SolutionService
from modelbay_onboarding.spool import check_declared_length, spooled

ARCHIVE_MEDIA_TYPES = frozenset(
    {"application/gzip", "application/x-gzip", "application/x-tar+gzip", "application/octet-stream"}
)


def create_app(
    settings: OnboardingSettings,
    uploads: UploadService,
    sessions: SessionFactory,
    solutions: SolutionService,
) -> FastAPI:
    app = FastAPI(
        title="Modelbay onboarding (internal)",
        version="1",
        description="Bundle uploads: validation, storage, versions. Called by the gateway only.",
    )
    app.state.settings, app.state.uploads, app.state.sessions = settings, uploads, sessions
    app.state.solutions = solutions
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(solutions_router)
    app.include_router(pickle_allowances_router)
    app.include_router(gc_router)
    return app


def _settings(request: Request) -> OnboardingSettings:
    settings: OnboardingSettings = request.app.state.settings
    return settings


def _uploads(request: Request) -> UploadService:
    uploads: UploadService = request.app.state.uploads
    return uploads


def _sessions(request: Request) -> SessionFactory:
    sessions: SessionFactory = request.app.state.sessions
    return sessions


SettingsDep = Annotated[OnboardingSettings, Depends(_settings)]
UploadsDep = Annotated[UploadService, Depends(_uploads)]
# Not a request-scoped session: the transaction opens only after the upload passed its checks.
SessionsDep = Annotated[SessionFactory, Depends(_sessions)]

router = APIRouter()


def uploader(user: str | None, org: str | None, admin: str | None) -> Caller:
    """The signed-in caller the gateway names in the headers (modelbay_common.access)."""
    sent = {USER_HEADER: user, ORG_HEADER: org, ADMIN_HEADER: admin}
    try:
        caller = caller_from_headers({key: value for key, value in sent.items() if value})
    except InvalidCallerHeaderError as exc:
        raise BadRequest(str(exc)) from None
    signed_in_user(caller)  # refuses an anonymous upload before a byte is read
    return caller


def _check_media_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type and media_type not in ARCHIVE_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {media_type!r} is not a bundle archive; send the .tar.gz as "
            "application/gzip"
        )


@router.post(
    "/internal/uploads/{owner}/{name}",
    status_code=202,
    response_model=UploadAccepted,
    summary="Upload a bundle archive (streamed body); validated before anything is stored",
)
async def upload_bundle(
    owner: str,
    name: str,
    request: Request,
    settings: SettingsDep,
    uploads: UploadsDep,
    sessions: SessionsDep,
    x_modelbay_user: Annotated[str | None, Header()] = None,
    x_modelbay_org: Annotated[str | None, Header()] = None,
    x_modelbay_admin: Annotated[str | None, Header()] = None,
) -> UploadAccepted:
    with counting_upload_rejects():
        caller = uploader(x_modelbay_user, x_modelbay_org, x_modelbay_admin)
        check_model_name("owner", owner)
        check_model_name("name", name)
        _check_media_type(request.headers.get("content-type"))
        check_declared_length(request.headers.get("content-length"), settings.max_upload_bytes)
        # The stages of the push's trace (docs/operations.md, "Traces"): receive (the spooled
        # body, and everything below), validate, scan, store.
        with span("onboarding.receive", **{"modelbay.model": f"{owner}/{name}"}):
            async with spooled(
                request.stream(), limit=settings.max_upload_bytes, directory=settings.spool_dir
            ) as upload:
                with span("onboarding.validate"):
                    bundle = await uploads.validate(upload)
                    uploads.check_image_source(bundle, caller)
                with span("onboarding.scan"):
                    pickle_scan = await uploads.judge_pickle(sessions, owner, name, bundle)
                with span("onboarding.store"):
                    stored_key = await uploads.store_bundle(upload)
                async with transaction(sessions) as session:
                    accepted = await uploads.record_upload(
                        session,
                        owner=owner,
                        name=name,
                        caller=caller,
                        upload=upload,
                        bundle=bundle,
                        stored_key=stored_key,
                        pickle_scan=pickle_scan,
                    )
    observe_upload_accepted(upload.size)
    return UploadAccepted(
        owner=accepted.owner,
        name=accepted.name,
        version=accepted.version,
        upload_id=accepted.upload_id,
        bundle_sha256=accepted.bundle_sha256,
        warnings=list(accepted.warnings),
    )


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health()
