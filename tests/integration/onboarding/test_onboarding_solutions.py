"""Onboarding accepts a solution on real Postgres and S3 (moto): node bundles uploaded first, the
catalog's facts given as the gateway gives them; the solution bundle is stored content-addressed,
versioned and announced like a model's; a type mismatch or a node not ready stores nothing."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import httpx
from modelbay.bundle import archive_to_file
from modelbay_common.events import ModelUploaded
from onboarding_harness import USER_HEADERS, Onboarding, OnboardingFactory
from solution_fixtures import dump_models, fig5_document


async def _push_nodes(onboarding: Onboarding, tmp_path: Path, names: list[str]) -> dict[str, Any]:
    """Upload each model as alice/<name>; the catalog's facts about version 1 of each."""
    facts = {}
    for name, bundle in dump_models(tmp_path / "models", names).items():
        archive = archive_to_file(bundle, tmp_path / f"{name}.tar.gz").read_bytes()
        model = name.replace("_", "-")
        response = await onboarding.upload(f"alice/{model}", archive)
        assert response.status_code == 202, response.text
        sha256 = hashlib.sha256(archive).hexdigest()
        facts[f"alice/{model}:1"] = {
            "owner": "alice",
            "name": model,
            "version": 1,
            "visible": True,
            "status": "ready",
            "image_ref": f"registry.test/alice/{model}:1",
            "image_digest": f"sha256:{sha256}",
            "bundle_uri": f"bundles/sha256/{sha256}.tar.gz",
            "bundle_sha256": sha256,
        }
    return facts


async def _submit(
    onboarding: Onboarding, document: dict[str, Any], versions: dict[str, Any]
) -> httpx.Response:
    return await onboarding.client.post(
        "/internal/solutions/alice/fig5",
        json={"document": document, "versions": versions},
        headers=USER_HEADERS,
    )


async def test_a_solution_is_checked_stored_versioned_and_announced(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory()
    facts = await _push_nodes(onboarding, tmp_path, ["heat", "shake", "rule", "loose_rule"])
    before = onboarding.list_objects()

    mismatch = await _submit(onboarding, fig5_document(rule="loose_rule"), facts)
    assert mismatch.status_code == 422, mismatch.text
    assert mismatch.json()["type"].endswith("/incompatible-solution")
    assert "rule.LooseEvidence.heat (int64): types differ" in mismatch.json()["detail"]
    building = {**facts, "alice/rule:1": {**facts["alice/rule:1"], "status": "building"}}
    not_ready = await _submit(onboarding, fig5_document(), building)
    assert not_ready.status_code == 409, not_ready.text
    assert not_ready.json()["node"] == "rule"
    assert onboarding.list_objects() == before  # refusals store nothing

    accepted = await _submit(onboarding, fig5_document(), facts)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["version"] == 1
    stored = set(onboarding.list_objects()) - set(before)
    [bundle_key] = [key for key in stored if key.startswith("bundles/")]
    assert {key for key in stored if not key.startswith("bundles/")} == {
        "interfaces/alice/fig5/1/model.proto",
        "interfaces/alice/fig5/1/openapi.json",
    }
    archive = await onboarding.service.blob_store.get_bytes(bundle_key)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        solution = json.loads(tar.extractfile("solution.json").read())  # type: ignore[union-attr]
    assert names == [
        "manifest.json",
        "model.descriptor.pb",
        "model.proto",
        "nodes/heat.descriptor.pb",
        "nodes/rule.descriptor.pb",
        "nodes/shake.descriptor.pb",
        "schemas.json",
        "solution.json",
    ]
    assert solution["nodes"]["heat"]["resolved"] == {
        "image_ref": "registry.test/alice/heat:1",
        "image_digest": facts["alice/heat:1"]["image_digest"],
        "input_message": "modelbay.heat.Reading",
        "output_message": "modelbay.heat.Finding",
    }
    event = await onboarding.wait_for(ModelUploaded.type, "alice/fig5/1", bound=60)
    assert isinstance(event.data, ModelUploaded)
    assert event.data.requirements == ()
    assert event.data.methods == ("assess",)
    assert event.data.bundle_uri == bundle_key
