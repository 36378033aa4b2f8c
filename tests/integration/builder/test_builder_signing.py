"""The builder signs what it validated and pushed, and writes signed provenance (real Docker,
registry with token auth, S3 (moto), Postgres).

The module's builder has a signing directory of its own (empty: the key is generated at start).
One real build of the iris bundle, then: the `sha256-<hex>.sig` tag verifies with the published
public key and names exactly `registry/owner/iris:1` and the pushed digest (checked by the SDK's
independent verifier, what `modelbay pull` runs); the provenance envelope in the blob store
verifies (DSSE) and its in-toto statement pins the image digest, the bundle, the lock, the base
image, the builder version and the SBOM and proto digests; ImageBuilt carries its key and SHA-256.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from modelbay.image_signature import verify_image_signature_in_registry
from modelbay_builder.records import BuildStatus
from modelbay_common.blob.keys import proto_key, provenance_key
from modelbay_common.events import Envelope, ImageBuilt
from modelbay_common.provenance import SLSA_PROVENANCE, statement_subject_digest
from modelbay_common.registry_auth import PULL, RegistryTokenIssuer, repository_access
from modelbay_common.signing import dsse_verify, load_trusted_keys
from test_builder_pipeline import wait_for_build, wait_for_event

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def signing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signing") / "keys"  # absent: created at the builder's start


@pytest.fixture(scope="module")
def builder_settings_overrides(signing_dir: Path) -> dict[str, Any]:
    return {"signing_key_dir": signing_dir}


@pytest.fixture(scope="module")
async def signed_v1(builder: Any, iris_bundles: Any, wheelhouse: Any, publish: Any) -> Envelope:
    await publish(
        builder, iris_bundles.v1, wheelhouse, version=1, python_version=iris_bundles.python_version
    )
    view = await wait_for_build(builder, "iris", 1)
    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    assert "signing: provenance stored" in view.log_tail
    return await wait_for_event(builder, 1)


async def test_the_pushed_image_is_signed_with_the_published_key(
    builder: Any,
    signed_v1: Envelope,
    signing_dir: Path,
    registry: str,
    registry_tokens: RegistryTokenIssuer | None,
) -> None:
    built = signed_v1.event_as(ImageBuilt)
    published = load_trusted_keys(signing_dir)
    assert len(published) == 1
    assert (signing_dir / "signing.key").stat().st_mode & 0o077 == 0
    repository = f"{builder.owner}/iris"
    token = (
        registry_tokens.mint("test", [repository_access(repository, PULL)]).token
        if registry_tokens
        else None
    )
    signer = verify_image_signature_in_registry(
        registry,
        repository,
        "1",
        built.image_digest,
        trusted_pems=[key.pem for key in published],
        token=token,
    )
    assert signer == published[0].key_id
    assert built.signing_seconds is not None


async def test_the_provenance_is_signed_and_pins_every_input(
    builder: Any, signed_v1: Envelope, signing_dir: Path, registry: str, wheelhouse: Any
) -> None:
    built = signed_v1.event_as(ImageBuilt)
    key = provenance_key(builder.owner, "iris", 1)
    assert built.provenance_uri == key
    assert built.provenance_sha256 == (await builder.blobs.stat(key)).sha256

    envelope = json.loads(await builder.blobs.get_bytes(key))
    statement = json.loads(dsse_verify(envelope, load_trusted_keys(signing_dir)))
    assert statement["predicateType"] == SLSA_PROVENANCE
    assert statement["subject"][0]["name"] == f"{registry}/{builder.owner}/iris"
    assert statement_subject_digest(statement) == built.image_digest

    definition = statement["predicate"]["buildDefinition"]
    parameters = definition["externalParameters"]
    assert parameters["lockHash"] == wheelhouse.lock_hash
    assert parameters["baseImage"] == builder.settings.base_image
    dependencies = {d["name"]: d for d in definition["resolvedDependencies"]}
    assert dependencies["bundle"]["digest"]["sha256"] == parameters["bundleSha256"]
    assert dependencies["lock"]["digest"]["sha256"] == wheelhouse.lock_hash
    assert "sha256" in dependencies["base-image"]["digest"]
    proto = proto_key(builder.owner, "iris", 1)
    if await builder.blobs.exists(proto):
        assert (
            dependencies["model.proto"]["digest"]["sha256"]
            == (await builder.blobs.stat(proto)).sha256
        )
    sbom = statement["predicate"]["runDetails"]["byproducts"][0]
    assert sbom["uri"] == built.sbom_uri
    assert sbom["digest"]["sha256"] == (await builder.blobs.stat(built.sbom_uri)).sha256
    assert statement["predicate"]["runDetails"]["builder"]["version"]["modelbay-builder"]
