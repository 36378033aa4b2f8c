"""Registry tokens (modelbay_common.registry_auth): what the registry checks, checked here too.

That the real Distribution registry accepts these tokens (the libtrust `kid`, ES256 signatures)
is proven in tests/integration/gateway/test_registry_access.py.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from modelbay_common.registry_auth import (
    InvalidRegistryToken,
    InvalidScope,
    RegistryTokenIssuer,
    granted_actions,
    libtrust_key_id,
    load_certificate_public_key,
    parse_scope,
    repository_access,
    requested_scopes,
    verify_registry_token,
    write_key_pair,
)
from registry_keys import RegistryKeys, make_registry_keys

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> RegistryKeys:
    return make_registry_keys(tmp_path_factory.mktemp("registry-keys"))


def _claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_minted_token_carries_what_the_registry_checks(keys: RegistryKeys) -> None:
    issuer = keys.issuer()
    minted = issuer.mint("alice", [repository_access("alice/iris", "pull")], now=NOW)
    claims = verify_registry_token(
        minted.token, load_certificate_public_key(keys.cert_file), now=NOW
    )
    assert claims["iss"] == "modelbay"
    assert claims["aud"] == "modelbay-registry"  # one string: Distribution 2.8 wants no list
    assert claims["sub"] == "alice"
    assert claims["exp"] == NOW + 300
    assert claims["nbf"] <= NOW
    assert granted_actions(claims, "alice/iris") == {"pull"}
    assert granted_actions(claims, "alice/other") == set()
    assert minted.docker_auth_config() == {"registrytoken": minted.token}


def test_the_key_id_is_a_libtrust_fingerprint(keys: RegistryKeys) -> None:
    issuer = keys.issuer()
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", issuer.key_id)
    assert issuer.key_id == libtrust_key_id(load_certificate_public_key(keys.cert_file))
    header = json.loads(base64.urlsafe_b64decode(issuer.mint("x", []).token.split(".")[0] + "=="))
    assert header == {"typ": "JWT", "alg": "ES256", "kid": issuer.key_id}


def test_every_token_has_its_own_id(keys: RegistryKeys) -> None:
    issuer = keys.issuer()
    first, second = (issuer.mint("alice", [], now=NOW).token for _ in range(2))
    assert _claims_of(first)["jti"] != _claims_of(second)["jti"]


def test_expired_tampered_and_foreign_tokens_are_refused(
    keys: RegistryKeys, tmp_path: Path
) -> None:
    public_key = load_certificate_public_key(keys.cert_file)
    token = keys.issuer().mint("alice", [repository_access("alice/iris", "pull")], now=NOW).token
    with pytest.raises(InvalidRegistryToken, match="expired"):
        verify_registry_token(token, public_key, now=NOW + 301)
    with pytest.raises(InvalidRegistryToken, match="another issuer or service"):
        verify_registry_token(token, public_key, service="another-registry", now=NOW)
    header, _payload, signature = token.split(".")
    widened = _claims_of(token) | {"access": [repository_access("bob/x", "push").claim()]}
    forged_payload = base64.urlsafe_b64encode(json.dumps(widened).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidRegistryToken, match="signature"):
        verify_registry_token(f"{header}.{forged_payload}.{signature}", public_key, now=NOW)
    other = make_registry_keys(tmp_path / "other")
    with pytest.raises(InvalidRegistryToken, match="not signed with this key"):
        verify_registry_token(other.issuer().mint("alice", []).token, public_key)
    with pytest.raises(InvalidRegistryToken, match="three"):
        verify_registry_token("not-a-token", public_key)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("repository:alice/iris:pull", ("repository", "alice/iris", ("pull",))),
        ("repository:alice/iris:pull,push", ("repository", "alice/iris", ("pull", "push"))),
        ("repository:alice/iris:pull,pull", ("repository", "alice/iris", ("pull",))),
        ("registry:catalog:*", ("registry", "catalog", ("*",))),
        ("repository(plugin):alice/p:pull", ("repository(plugin)", "alice/p", ("pull",))),
    ],
)
def test_scopes_parse_per_the_spec(scope: str, expected: tuple[object, ...]) -> None:
    access = parse_scope(scope)
    assert (access.type, access.name, access.actions) == expected


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "repository",
        "repository:alice/iris",
        "repository:alice/iris:",
        "repository::pull",
        "repository:Alice/Iris:pull",
        "repository:alice/iris:pu ll",
        "REPO:x:pull",
    ],
)
def test_malformed_scopes_are_refused(scope: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scope(scope)


def test_several_scopes_in_one_parameter_or_many() -> None:
    parsed = requested_scopes(["repository:a/b:pull repository:c/d:pull", "registry:catalog:*"])
    assert [access.scope() for access in parsed] == [
        "repository:a/b:pull",
        "repository:c/d:pull",
        "registry:catalog:*",
    ]


def test_generating_keys_is_idempotent_and_the_key_is_private(tmp_path: Path) -> None:
    first = write_key_pair(tmp_path / "auth")
    key_file, cert_file = first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert write_key_pair(tmp_path / "auth") == first
    assert key_file.read_bytes() == first[0].read_bytes()
    issuer = RegistryTokenIssuer.from_key_file(key_file)
    assert issuer.key_id == libtrust_key_id(load_certificate_public_key(cert_file))
