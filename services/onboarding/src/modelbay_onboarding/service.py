"""Use case: accept an uploaded bundle (validate → store → version → ModelUploaded).

Order matters for "a rejected upload leaves nothing behind": every check runs on the spooled
file before the first write. The bundle blob is content-addressed, so storing it before the
transaction is safe (a retry or a duplicate finds it in place); the version number, the upload
row and the event are written in one transaction, so a failure there takes no number.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from modelbay_common.access import Caller
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobStore, BlobStoreUnavailableError
from modelbay_common.blob.keys import bundle_key, openapi_key, proto_key
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.errors import BadRequest, ServiceUnavailable
from modelbay_common.events import MAX_EVENT_DESCRIPTOR_SET_BYTES, ModelUploaded, PickleScan
from modelbay_common.events.pipeline import SolutionNode
from modelbay_common.outbox import EventEmitter
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.errors import PickleBlocked
from modelbay_onboarding.interface import method_signatures, model_openapi
from modelbay_onboarding.orm import SCHEMA
from modelbay_onboarding.pickle_allowances import PickleAllowanceStore
from modelbay_onboarding.settings import EVENT_SOURCE, OnboardingSettings
from modelbay_onboarding.spool import SpooledUpload
from modelbay_onboarding.store import NewUpload, OnboardingStore
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, ValidatedBundle, validate_bundle
from modelbay_onboarding.validation.image_source import check_image_source
from modelbay_onboarding.validation.onnx_check import OnnxRules
from modelbay_onboarding.validation.pickle_policy import (
    PickleScanResult,
    classify,
    declared_modules,
)
from modelbay_onboarding.validation.requirement_reasons import requirement_reasons

log = logging.getLogger(__name__)

# Onboarding's one way to write an event: in its outbox, in the caller's transaction.
emit = EventEmitter(source=EVENT_SOURCE, schema=SCHEMA)


def signed_in_user(caller: Caller) -> str:
    """The uploader: an upload always has one (the gateway signs every push)."""
    if caller.user is None:
        raise BadRequest(
            "the X-Modelbay-User header is missing; internal APIs are called through the gateway"
        )
    return caller.user


@dataclass(frozen=True)
class AcceptedUpload:
    owner: str
    name: str
    version: int
    upload_id: str
    bundle_sha256: str
    warnings: tuple[str, ...]


class UploadService:
    def __init__(self, settings: OnboardingSettings, blob_store: BlobStore) -> None:
        self._settings = settings
        self._blobs = blob_store
        self._rules = BundleRules(
            limits=ArchiveLimits(
                max_files=settings.max_archive_files,
                max_unpacked_bytes=settings.max_unpacked_bytes,
                max_expansion_ratio=settings.max_expansion_ratio,
                expansion_ratio_floor_bytes=settings.expansion_ratio_floor_bytes,
                max_metadata_file_bytes=settings.max_metadata_file_bytes,
                max_header_bytes=settings.max_archive_header_bytes,
            ),
            supported_python=tuple(settings.supported_python_versions),
            require_samples=settings.require_samples,
            onnx=OnnxRules(
                min_opset=settings.onnx_min_opset,
                max_opset=settings.onnx_max_opset,
                max_bytes=settings.max_onnx_bytes,
            ),
        )

    @property
    def blob_store(self) -> BlobStore:
        """The store uploads go to (the garbage collector sweeps it too: api_gc.py)."""
        return self._blobs

    async def validate(self, upload: SpooledUpload) -> ValidatedBundle:
        """Every check of docs/onboarding.md, in a worker thread (it reads the whole archive)."""
        return await asyncio.to_thread(validate_bundle, upload.path, self._rules)

    def check_image_source(self, bundle: ValidatedBundle, caller: Caller) -> None:
        """A pre-built image by reference must be the uploader's, in this platform's registry
        (validation/image_source.py); a 4xx naming why otherwise."""
        if bundle.image_reference is not None:
            check_image_source(
                bundle.image_reference, registry=self._settings.registry, caller=caller
            )

    async def judge_pickle(
        self, sessions: SessionFactory, owner: str, name: str, bundle: ValidatedBundle
    ) -> PickleScanResult:
        """The scan's verdict with this model's allowances; PickleBlocked (422) before anything
        is stored when the pickle imports a blocked global nobody allowed."""
        async with transaction(sessions) as session:
            allowed = await PickleAllowanceStore(session).allowed_globals(owner, name)
        verdict = classify(
            bundle.pickle_globals, declared_modules(bundle.manifest.model_dump()), allowed
        )
        if verdict.status == "blocked":
            log.warning(
                "refused %s/%s: its pickle imports %s",
                owner,
                name,
                ", ".join(verdict.blocked),
                extra={"owner": owner, "model": name},
            )
            raise PickleBlocked(
                f"model.pkl imports {', '.join(verdict.blocked)}, which can run commands, open "
                "files or sockets, or import code when the model is loaded; nothing was stored. "
                "Pickle only the model's functions and data (an administrator may allow a "
                "global for this model after reading its code)",
                extensions={"blocked": list(verdict.blocked), "globals": list(verdict.globals)},
            )
        return verdict

    async def store_bundle(self, upload: SpooledUpload) -> str:
        """Put the archive under its content address (once: equal bytes, equal key)."""
        key = bundle_key(upload.sha256)
        try:
            if not await self._blobs.exists(key):
                await self._blobs.put_path(
                    key, upload.path, content_type=ArtifactKind.BUNDLE.media_type
                )
        except BlobStoreUnavailableError as exc:
            log.error("blob store unavailable while storing %s: %s", key, exc)
            raise ServiceUnavailable(
                "bundle storage is unavailable right now; nothing was recorded, retry later",
                headers={"Retry-After": "30"},
            ) from exc
        return key

    async def record_upload(
        self,
        session: AsyncSession,
        *,
        owner: str,
        name: str,
        caller: Caller,
        upload: SpooledUpload,
        bundle: ValidatedBundle,
        stored_key: str,
        pickle_scan: PickleScanResult | None = None,
    ) -> AcceptedUpload:
        """Take the next version, store the interface files, record the upload, emit the event.

        If the transaction then fails, the interface files of a version number that was never
        taken stay behind; the next upload that takes the number overwrites them.
        """
        store = OnboardingStore(session)
        version = await store.take_next_version(owner, name)
        await self._store_interfaces(owner, name, version, bundle)
        upload_id = uuid.uuid4()
        await store.add_upload(
            NewUpload(
                id=upload_id,
                owner=owner,
                name=name,
                version=version,
                bundle_key=stored_key,
                bundle_sha256=upload.sha256,
                bundle_size=upload.size,
                python_version=bundle.python_version,
                requirements=bundle.requirements,
                methods=bundle.methods,
                uploaded_by=signed_in_user(caller),
                pickle_scan=None if pickle_scan is None else pickle_scan.as_json(),
            ),
        )
        event = self._uploaded_event(owner, name, version, str(upload_id), caller, upload, bundle)
        if pickle_scan is not None:
            event = event.model_copy(
                update={"pickle_scan": PickleScan.model_validate(pickle_scan.as_json())}
            )
        await emit(session, event)
        log.info(
            "accepted %s/%s version %d (%d bytes, sha256 %s)",
            owner,
            name,
            version,
            upload.size,
            upload.sha256,
            extra={"owner": owner, "model": name, "version": version},
        )
        return AcceptedUpload(owner, name, version, str(upload_id), upload.sha256, bundle.warnings)

    async def _store_interfaces(
        self, owner: str, name: str, version: int, bundle: ValidatedBundle
    ) -> None:
        openapi = json.dumps(model_openapi(bundle, name, version), indent=2).encode()
        await self._blobs.put(
            proto_key(owner, name, version),
            io.BytesIO(bundle.proto_text.encode()),
            content_type=ArtifactKind.PROTO.media_type,
        )
        await self._blobs.put(
            openapi_key(owner, name, version),
            io.BytesIO(openapi),
            content_type=ArtifactKind.OPENAPI.media_type,
        )

    @staticmethod
    def _uploaded_event(
        owner: str,
        name: str,
        version: int,
        upload_id: str,
        caller: Caller,
        upload: SpooledUpload,
        bundle: ValidatedBundle,
    ) -> ModelUploaded:
        return ModelUploaded(
            owner=owner,
            name=name,
            version=version,
            upload_id=upload_id,
            bundle_uri=bundle_key(upload.sha256),
            bundle_sha256=upload.sha256,
            bundle_size=upload.size,
            python_version=bundle.python_version,
            requirements=bundle.requirements,
            system_packages=bundle.system_packages,
            requirement_reasons=requirement_reasons(
                bundle.requirements, bundle.manifest.model_extra
            ),
            methods=bundle.methods,
            uploaded_by=signed_in_user(caller),
            description=bundle.manifest.description,
            license=bundle.manifest.license,
            owner_org=caller.org,
            interface=method_signatures(bundle),
            descriptor_set=_descriptor_set_for_event(bundle, f"{owner}/{name}/{version}"),
            **_solution_facts(bundle),
        )


def _solution_facts(bundle: ValidatedBundle) -> dict[str, Any]:
    """`kind` and `nodes` of a solution bundle (only onboarding writes those: an uploaded
    archive that claims to be a solution is refused), so the catalog can mark the version."""
    extra = bundle.manifest.model_extra or {}
    nodes = extra.get("nodes")
    if extra.get("kind") != "solution" or not isinstance(nodes, dict):
        return {}
    listed = tuple(SolutionNode(node=str(k), model=str(v)) for k, v in nodes.items())
    return {"kind": "solution", "nodes": listed}


def _descriptor_set_for_event(bundle: ValidatedBundle, subject: str) -> str | None:
    """The descriptor set travels in the event so the catalog can diff interfaces without
    reading the blob store (docs/decisions.md); an oversized one is left out, and said so."""
    if len(bundle.descriptor_set) > MAX_EVENT_DESCRIPTOR_SET_BYTES:
        log.warning(
            "%s: descriptor set of %d bytes is over %d; the catalog will not diff its interface",
            subject,
            len(bundle.descriptor_set),
            MAX_EVENT_DESCRIPTOR_SET_BYTES,
        )
        return None
    return base64.b64encode(bundle.descriptor_set).decode()
