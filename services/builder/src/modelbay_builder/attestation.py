"""The builder's last stage: sign the pushed image and write its signed provenance.

Runs only after validation passed and the registry reported the manifest digest, so nothing the
platform did not validate is ever signed. Both steps are skipped (and the build log says so)
when no signing key is configured (`SIGNING_KEY_DIR` unset).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass
from datetime import datetime

from modelbay_common.blob import BlobNotFoundError, BlobStore
from modelbay_common.blob.keys import proto_key, provenance_key
from modelbay_common.provenance import ENVELOPE_MEDIA_TYPE, ImageProvenance
from modelbay_common.signing import SigningKey, dsse_sign

from modelbay_builder.build_log import BuildLog
from modelbay_builder.image_signing import sign_image
from modelbay_builder.records import BuildRequest
from modelbay_builder.registry import RegistryCredentials


@dataclass(frozen=True)
class Attestation:
    signature_tag: str
    provenance_key: str
    provenance_sha256: str
    seconds: float


@dataclass(frozen=True)
class BuildFacts:
    """What the pipeline knows once the image is pushed and its SBOM stored."""

    registry: str
    registry_insecure: bool
    digest: str
    base_image: str
    base_image_id: str | None
    sbom_key: str
    builder_version: str
    started: datetime


async def attest(
    key: SigningKey,
    blobs: BlobStore,
    credentials: RegistryCredentials,
    request: BuildRequest,
    facts: BuildFacts,
    log: BuildLog,
) -> Attestation:
    started = time.monotonic()
    tag = await asyncio.to_thread(
        sign_image,
        registry=facts.registry,
        owner=request.owner,
        name=request.name,
        tag=str(request.version),
        digest=facts.digest,
        key=key,
        credentials=credentials,
        insecure=facts.registry_insecure,
        creator=f"modelbay-builder {facts.builder_version}",
    )
    log.line(f"signing: {tag} pushed (key {key.key_id[:19]}...)")
    provenance = ImageProvenance(
        repository=f"{facts.registry}/{request.owner}/{request.name}",
        image_digest=facts.digest,
        owner=request.owner,
        name=request.name,
        version=request.version,
        bundle_uri=request.bundle_uri,
        bundle_sha256=request.bundle_sha256,
        lock_hash=request.lock_hash,
        base_image=facts.base_image,
        base_image_id=facts.base_image_id,
        proto_sha256=await _sha256_or_none(
            blobs, proto_key(request.owner, request.name, request.version)
        ),
        sbom_key=facts.sbom_key,
        sbom_sha256=(await blobs.stat(facts.sbom_key)).sha256,
        builder_version=facts.builder_version,
        started=facts.started,
        finished=datetime.now(facts.started.tzinfo),
    )
    statement = json.dumps(provenance.statement(), separators=(",", ":"), sort_keys=True)
    envelope = json.dumps(dsse_sign(key, statement.encode()), indent=2).encode()
    stored_key = provenance_key(request.owner, request.name, request.version)
    await blobs.put(stored_key, io.BytesIO(envelope), content_type=ENVELOPE_MEDIA_TYPE)
    info = await blobs.stat(stored_key)
    seconds = time.monotonic() - started
    log.line(f"signing: provenance stored ({info.size} bytes); signing took {seconds:.3f} s")
    return Attestation(tag, stored_key, info.sha256, seconds)


async def _sha256_or_none(blobs: BlobStore, key: str) -> str | None:
    try:
        return (await blobs.stat(key)).sha256
    except BlobNotFoundError:
        return None
