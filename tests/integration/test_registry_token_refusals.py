"""Abuse suite (issue 11), tokens at the registry: the real Distribution registry (token auth,
docs/trust.md) refuses an expired token, a token signed with another key, a token for another
repository and no token at all, and accepts a fresh one of its own key."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from modelbay_common.registry_auth import RegistryTokenIssuer, repository_access
from registry_keys import make_registry_keys


def _tags(registry: str, repository: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"http://{registry}/v2/{repository}/tags/list", headers=headers, timeout=30)


def test_the_registry_refuses_bad_tokens_and_accepts_a_good_one(
    registry: str, registry_tokens: RegistryTokenIssuer | None, tmp_path: Path
) -> None:
    if registry_tokens is None:
        pytest.fail("the shared registry runs without token auth; run `make services-up`")
    repository = f"abuse-{uuid.uuid4().hex[:8]}/model"
    pull = [repository_access(repository, "pull")]

    fresh = registry_tokens.mint("abuse-suite", pull).token
    # An unknown repository with a valid token: the registry looked, and found nothing.
    assert _tags(registry, repository, fresh).status_code == 404

    an_hour_ago = time.time() - 3600
    expired = registry_tokens.mint("abuse-suite", pull, ttl_seconds=300, now=an_hour_ago).token
    other_key = make_registry_keys(tmp_path)
    forged = RegistryTokenIssuer.from_key_file(other_key.key_file).mint("abuse-suite", pull).token
    elsewhere = registry_tokens.mint(
        "abuse-suite", [repository_access("someone-else/model", "pull")]
    ).token
    for case, token in {
        "expired": expired,
        "signed with another key": forged,
        "for another repository": elsewhere,
        "no token": None,
    }.items():
        refused = _tags(registry, repository, token)
        assert refused.status_code == 401, f"{case}: {refused.status_code} {refused.text}"
        assert "Bearer" in refused.headers.get("WWW-Authenticate", ""), case
