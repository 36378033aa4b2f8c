"""Pickle scanning at upload against real Postgres and S3: a pickle that runs code at load is
refused with 422 naming the global, nothing stored, no version taken; an administrator's
allowance for that model lets it through, flagged, and the verdict travels in ModelUploaded."""

from __future__ import annotations

from pathlib import Path

from malicious_bundles import make_malicious_bundle_dir
from modelbay_common.events import ModelUploaded
from onboarding_bundles import archive, make_bundle_dir
from onboarding_harness import Onboarding, OnboardingFactory

ADMIN_HEADERS = {"X-Modelbay-User": "root", "X-Modelbay-Admin": "true"}


def _malicious_archive(tmp_path: Path) -> bytes:
    bundle = make_malicious_bundle_dir(tmp_path / "adder", str(tmp_path / "canary"))
    return archive(bundle, tmp_path / "evil.tar.gz").read_bytes()


async def _assert_nothing_stored(onboarding: Onboarding) -> None:
    assert onboarding.list_objects() == []
    for table in ("uploads", "model_sequences", "outbox"):
        assert await onboarding.rows(f"SELECT 1 FROM onboarding.{table}") == [], table


async def test_a_pickle_that_evals_at_load_is_refused_naming_the_global(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory()
    response = await onboarding.upload("alice/adder", _malicious_archive(tmp_path))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("pickle-blocked")
    assert problem["blocked"] == ["builtins.eval"]
    assert "builtins.eval" in problem["detail"]
    await _assert_nothing_stored(onboarding)
    assert not (tmp_path / "canary").exists()  # scanned, never unpickled


async def test_an_allowance_lets_the_model_through_flagged_and_audited_in_the_event(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory()
    path = "/internal/pickle-allowances/alice/adder"
    refused = await onboarding.client.put(
        path,
        json={"globals": ["builtins.eval"], "reason": "read the code"},
        headers={"X-Modelbay-User": "alice"},
    )
    assert refused.status_code == 403
    bad = await onboarding.client.put(
        path, json={"globals": ["eval"], "reason": "read the code"}, headers=ADMIN_HEADERS
    )
    assert bad.status_code == 422
    allowed = await onboarding.client.put(
        path,
        json={"globals": ["builtins.eval"], "reason": "sandbox test"},
        headers=ADMIN_HEADERS,
    )
    assert allowed.status_code == 200, allowed.text
    [entry] = allowed.json()["allowances"]
    assert (entry["global_name"], entry["allowed_by"]) == ("builtins.eval", "root")

    accepted = await onboarding.upload("alice/adder", _malicious_archive(tmp_path))
    assert accepted.status_code == 202, accepted.text
    [(scan,)] = await onboarding.rows("SELECT pickle_scan FROM onboarding.uploads")
    assert scan["status"] == "flagged"
    assert scan["allowed"] == ["builtins.eval"]
    assert scan["blocked"] == []
    [(payload,)] = await onboarding.rows("SELECT payload FROM onboarding.outbox")
    assert payload["type"] == ModelUploaded.type
    assert payload["data"]["pickle_scan"]["allowed"] == ["builtins.eval"]
    # The allowance is for alice/adder only.
    other = await onboarding.upload("alice/other", _malicious_archive(tmp_path / "o"))
    assert other.status_code == 422

    withdrawn = await onboarding.client.delete(f"{path}/builtins.eval", headers=ADMIN_HEADERS)
    assert withdrawn.status_code == 204
    again = await onboarding.upload("alice/adder", _malicious_archive(tmp_path / "a"))
    assert again.status_code == 422
    missing = await onboarding.client.delete(f"{path}/builtins.eval", headers=ADMIN_HEADERS)
    assert missing.status_code == 404


async def test_a_clean_bundle_carries_a_clean_scan(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory()
    body = archive(make_bundle_dir(tmp_path / "adder"), tmp_path / "a.tar.gz").read_bytes()
    assert (await onboarding.upload("alice/adder", body)).status_code == 202
    [(payload,)] = await onboarding.rows("SELECT payload FROM onboarding.outbox")
    scan = payload["data"]["pickle_scan"]
    assert scan["status"] == "clean"
    # `add` is pickled by reference to the SDK-bundled local module that defines it.
    assert scan["globals"] == ["onboarding_bundles.add"]
