"""The builder's mirror between two real token registries, with real S3 (moto) as blob store.

Origin A: a private token registry holding a small image signed with A's key (the builder's own
`sign_image`), and a stand-in for A's gateway (`mirror_origin.py`: registry token for the peer
token, artifact downloads). This instance B: another private token registry, B's signing key,
a blob store under a prefix of its own. The mirror runs through `Mirrorer.mirror`, as the
`MirrorRequested` consumer runs it.

Proved here: a signed image is copied by digest (same digest on B), B's `.sig` tag carries A's
signature and B's own (which the SDK's verifier, what `modelbay pull` runs, accepts with B's
key for B's coordinates), artifacts land under the local keys; and every refusal stores
nothing, neither in B's registry nor in B's blob store: an image re-tagged on A, a manifest
with no signature, a signature by a key that is not pinned, a manifest modified in A's storage,
an artifact whose SHA-256 differs, a provenance about another image or signed by another key.
An unreachable origin is retryable. The consumer, on real Postgres, answers a redelivered event
once (inbox) through the builder's outbox.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mirror_origin import OriginGateway, copy_tag, origin_gateway, push_small_image
from mirror_sides import (
    PEER_TOKEN,
    Side,
    StaticPeer,
    assert_nothing_stored,
    manifest_head,
    manifest_status,
    mirror_request,
    provenance_envelope,
    running_side,
    served_artifact,
    signed_image,
    unique_repository,
)
from modelbay.image_signature import verify_image_signature_in_registry
from modelbay_builder.mirror.copy import LocalRegistry, Mirrorer, artifact_key
from modelbay_builder.mirror.handlers import mirror_requested_handler
from modelbay_builder.registry import RegistryCredentials
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import BlobStore, open_blob_store
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.events import (
    MirrorFailed,
    MirrorRequested,
    VersionMirrored,
    envelope,
)
from modelbay_common.migrations import upgrade
from modelbay_common.outbox import outbox_table
from modelbay_common.registry_auth import PULL, repository_access
from modelbay_common.signing import (
    load_or_create_signing_key,
    public_key_pem,
)
from sqlalchemy import select


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    yield from running_side(tmp_path_factory.mktemp("mirror"), "origin")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    yield from running_side(tmp_path_factory.mktemp("mirror"), "local")


@pytest.fixture(scope="module")
def gateway(origin: Side) -> Iterator[OriginGateway]:
    with origin_gateway(origin.keys.issuer(), PEER_TOKEN) as running:
        yield running


@pytest.fixture
async def blobs(s3_services: Any) -> BlobStore:
    base, _, query = s3_services.blob_url.partition("?")
    store = open_blob_store(f"{base.rstrip('/')}/mirror-it-{uuid.uuid4().hex[:10]}?{query}")
    await store.ensure_ready()
    return store


@pytest.fixture
async def mirrorer(
    gateway: OriginGateway, local: Side, blobs: BlobStore, tmp_path: Path
) -> AsyncIterator[Mirrorer]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield Mirrorer(
            credentials=StaticPeer(gateway.url),
            http=http,
            blob_store=blobs,
            local=LocalRegistry(
                local.registry.address,
                RegistryCredentials(local.keys.issuer()),
                "http",
                local.signing,
            ),
            scratch_dir=tmp_path / "scratch",
        )


async def test_a_signed_image_is_copied_by_digest_and_countersigned(
    origin: Side, local: Side, gateway: OriginGateway, mirrorer: Mirrorer, blobs: BlobStore
) -> None:
    repository = unique_repository()
    digest = signed_image(origin, repository, "1", "version one", origin.signing)
    proto = served_artifact(gateway, ArtifactKind.PROTO, b'syntax = "proto3";\n')
    bundle = served_artifact(gateway, ArtifactKind.BUNDLE, b"bundle bytes" * 100)
    provenance = served_artifact(
        gateway, ArtifactKind.PROVENANCE, provenance_envelope(origin.signing, digest)
    )
    request = mirror_request(
        origin, gateway, repository, 1, digest, artifacts=(proto, bundle, provenance)
    )

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, VersionMirrored), answer
    local_repository = f"{request.owner}/{request.name}"
    assert answer.image_digest == digest
    assert answer.image_ref == f"{local.registry.address}/{local_repository}:1"
    assert answer.verified_key_id == origin.signing.key_id
    assert answer.artifacts == (proto, bundle, provenance)
    assert manifest_status(local, local_repository, digest) == 200
    token = local.keys.issuer().mint("test", [repository_access(local_repository, PULL)]).token
    signer = verify_image_signature_in_registry(
        local.registry.address,
        local_repository,
        "1",
        digest,
        trusted_pems=[public_key_pem(local.signing.public_key)],
        token=token,
    )
    assert signer == local.signing.key_id
    # The tag moves nowhere: HEAD on the tag reports the origin's digest.
    assert manifest_head(local, local_repository, "1").headers["Docker-Content-Digest"] == digest
    for artifact in (proto, bundle, provenance):
        kind = ArtifactKind(artifact.kind)
        key = artifact_key(kind, request.owner, request.name, 1, artifact.sha256)
        assert (await blobs.stat(key)).sha256 == artifact.sha256

    # A redelivery copies again without harm: same digest, blobs already there.
    again = await mirrorer.mirror(request)
    assert isinstance(again, VersionMirrored)
    assert again.image_digest == digest


async def test_an_image_retagged_on_the_origin_is_refused(
    origin: Side, local: Side, gateway: OriginGateway, mirrorer: Mirrorer, blobs: BlobStore
) -> None:
    repository = unique_repository()
    digest = signed_image(origin, repository, "1", "signed as one", origin.signing)
    copy_tag(origin.registry.address, repository, "1", "2", origin.keys.issuer())
    request = mirror_request(origin, gateway, repository, 2, digest)

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    assert f"names {origin.registry.address}/{repository}:1" in answer.reason
    await assert_nothing_stored(local, blobs, request, digest)


async def test_an_unsigned_replacement_on_the_origin_is_refused(
    origin: Side, local: Side, gateway: OriginGateway, mirrorer: Mirrorer, blobs: BlobStore
) -> None:
    repository = unique_repository()
    signed_image(origin, repository, "1", "the validated image", origin.signing)
    replaced = push_small_image(
        origin.registry.address, repository, "1", origin.keys.issuer(), "someone else's image"
    )
    bundle = served_artifact(gateway, ArtifactKind.BUNDLE, b"bundle")
    request = mirror_request(origin, gateway, repository, 1, replaced, artifacts=(bundle,))

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    assert "has no signature" in answer.reason
    await assert_nothing_stored(local, blobs, request, replaced)


async def test_a_signature_by_a_key_not_pinned_for_the_peer_is_refused(
    origin: Side,
    local: Side,
    gateway: OriginGateway,
    mirrorer: Mirrorer,
    blobs: BlobStore,
    tmp_path: Path,
) -> None:
    repository = unique_repository()
    intruder = load_or_create_signing_key(tmp_path / "intruder")
    digest = signed_image(origin, repository, "1", "signed by an intruder", intruder)
    request = mirror_request(origin, gateway, repository, 1, digest)

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    assert "no pinned key verifies" in answer.reason
    await assert_nothing_stored(local, blobs, request, digest)


async def test_a_manifest_modified_in_the_origins_storage_is_refused(
    origin: Side, local: Side, gateway: OriginGateway, mirrorer: Mirrorer, blobs: BlobStore
) -> None:
    repository = unique_repository()
    digest = signed_image(origin, repository, "1", "about to be tampered with", origin.signing)
    hex_digest = digest.removeprefix("sha256:")
    stored = (
        origin.registry.log_file.parent
        / f"storage/docker/registry/v2/blobs/sha256/{hex_digest[:2]}/{hex_digest}/data"
    )
    stored.write_bytes(stored.read_bytes().replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    tampered = stored.read_bytes()
    request = mirror_request(origin, gateway, repository, 1, digest)

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    assert "was modified on the origin" in answer.reason, answer.reason
    assert hashlib.sha256(tampered).hexdigest() in answer.reason
    await assert_nothing_stored(local, blobs, request, digest)


async def test_an_artifact_whose_sha256_differs_is_refused(
    origin: Side, local: Side, gateway: OriginGateway, mirrorer: Mirrorer, blobs: BlobStore
) -> None:
    repository = unique_repository()
    digest = signed_image(origin, repository, "1", "fine image", origin.signing)
    good = served_artifact(gateway, ArtifactKind.PROTO, b'syntax = "proto3";\n')
    wrong = served_artifact(
        gateway, ArtifactKind.BUNDLE, b"the real bundle", sha256=hashlib.sha256(b"x").hexdigest()
    )
    request = mirror_request(origin, gateway, repository, 1, digest, artifacts=(good, wrong))

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    assert f"not the {wrong.sha256}" in answer.reason
    await assert_nothing_stored(local, blobs, request, digest)


async def test_an_artifact_longer_than_announced_is_cut_off_and_refused(
    origin: Side, local: Side, gateway: OriginGateway, mirrorer: Mirrorer, blobs: BlobStore
) -> None:
    repository = unique_repository()
    digest = signed_image(origin, repository, "1", "announced short", origin.signing)
    content = b"x" * 100_000
    short = served_artifact(
        gateway,
        ArtifactKind.SBOM,
        content,
        size=10,
        sha256=hashlib.sha256(content[:10]).hexdigest(),
    )
    request = mirror_request(origin, gateway, repository, 1, digest, artifacts=(short,))

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    assert "larger than the 10 bytes the origin announced" in answer.reason
    await assert_nothing_stored(local, blobs, request, digest)


@pytest.mark.parametrize("forgery", ["another image", "another key"])
async def test_a_provenance_that_does_not_vouch_for_the_image_is_refused(
    forgery: str,
    origin: Side,
    local: Side,
    gateway: OriginGateway,
    mirrorer: Mirrorer,
    blobs: BlobStore,
    tmp_path: Path,
) -> None:
    repository = unique_repository()
    digest = signed_image(origin, repository, "1", f"provenance: {forgery}", origin.signing)
    if forgery == "another image":
        envelope_bytes = provenance_envelope(origin.signing, "sha256:" + "e" * 64)
    else:
        envelope_bytes = provenance_envelope(
            load_or_create_signing_key(tmp_path / "intruder"), digest
        )
    provenance = served_artifact(gateway, ArtifactKind.PROVENANCE, envelope_bytes)
    request = mirror_request(origin, gateway, repository, 1, digest, artifacts=(provenance,))

    answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert not answer.retryable
    expected = "is about sha256:eee" if forgery == "another image" else "does not verify"
    assert expected in answer.reason, answer.reason
    await assert_nothing_stored(local, blobs, request, digest)


async def test_an_unreachable_origin_is_retryable(
    origin: Side, local: Side, blobs: BlobStore, tmp_path: Path
) -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
    async with httpx.AsyncClient(timeout=10) as http:
        mirrorer = Mirrorer(
            credentials=StaticPeer(closed),
            http=http,
            blob_store=blobs,
            local=LocalRegistry(
                local.registry.address, RegistryCredentials(local.keys.issuer()), "http", None
            ),
            scratch_dir=tmp_path / "scratch",
        )
        repository = unique_repository()
        request = MirrorRequested(
            owner="b-alice",
            name=repository.split("/")[1],
            version=1,
            peer="a",
            origin_url=closed,
            origin_owner="alice",
            origin_name=repository.split("/")[1],
            origin_version=1,
            origin_registry=origin.registry.address,
            image_repository=repository,
            image_digest="sha256:" + "0" * 64,
            trusted_keys=(public_key_pem(origin.signing.public_key),),
        )
        answer = await mirrorer.mirror(request)

    assert isinstance(answer, MirrorFailed), answer
    assert answer.retryable
    assert "cannot be reached" in answer.reason


async def test_the_consumer_answers_once_per_event_through_the_outbox(
    origin: Side,
    gateway: OriginGateway,
    mirrorer: Mirrorer,
    fresh_database_url: str,
) -> None:
    """The `MirrorRequested` consumer on real Postgres: a redelivered event is not answered twice
    (the inbox), and the answer is in the builder's outbox, committed by the consumer."""
    await upgrade("builder", fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        sessions = session_factory(engine)
        repository = unique_repository()
        digest = signed_image(origin, repository, "1", "delivered twice", origin.signing)
        request = mirror_request(origin, gateway, repository, 1, digest)
        delivery = envelope(request, source="/modelbay/catalog")
        handle = mirror_requested_handler("builder.mirrors", sessions, mirrorer)

        await handle(delivery)
        await handle(delivery)  # the broker redelivers: copied again at most, answered once

        outbox = outbox_table("builder")
        async with transaction(sessions) as session:
            rows = (await session.execute(select(outbox.c.event_type, outbox.c.payload))).all()
    finally:
        await engine.dispose()
    assert [row.event_type for row in rows] == [VersionMirrored.type]
    answer = rows[0].payload
    assert answer["subject"] == request.subject
    assert answer["data"]["image_digest"] == digest
