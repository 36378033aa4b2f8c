"""Small pure pieces: tokens, settings, artifact keys, upstream error relaying."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from catalog_answers import failure, image, version_detail
from modelbay_common.access import Caller, caller_headers
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.contracts.catalog import BundleInfo, VersionDetail
from modelbay_common.settings import ConfigurationError
from modelbay_gateway.downloads import blob_artifact
from modelbay_gateway.errors import UpstreamFailed, UpstreamProblem
from modelbay_gateway.schemas import VersionOut
from modelbay_gateway.settings import GatewaySettings
from modelbay_gateway.tokens import display_prefix, new_token, token_sha256
from modelbay_gateway.upstream import raise_for_upstream

BASE = {"database_url": "postgresql://h/db", "bus_url": "memory://", "blob_url": "file:///tmp/b"}


def test_tokens_are_random_prefixed_and_hashed_one_way() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert first.startswith("mb_")
    assert len(first) >= 40
    assert token_sha256(first) == hashlib.sha256(first.encode()).hexdigest()
    assert display_prefix(first) == first[:8]


def test_short_admin_token_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="MODELBAY_GATEWAY_ADMIN_TOKEN"):
        GatewaySettings.load(**BASE, admin_token="short")


def test_settings_defaults_point_at_the_stack_ports() -> None:
    settings = GatewaySettings.load(**BASE)
    assert settings.http_port == 8000
    assert settings.onboarding_url.endswith(":8001")
    assert settings.builder_url.endswith(":8002")
    assert settings.catalog_url.endswith(":8003")
    assert settings.anonymous_read is False


def test_caller_headers() -> None:
    assert caller_headers(Caller("alice", "acme")) == {
        "X-Modelbay-Admin": "false",
        "X-Modelbay-User": "alice",
        "X-Modelbay-Org": "acme",
    }
    assert caller_headers(Caller(None)) == {"X-Modelbay-Admin": "false"}


def _response(status: int, body: object) -> httpx.Response:
    request = httpx.Request("GET", "http://catalog/internal/models/a/b")
    return httpx.Response(status, json=body, request=request)


def test_upstream_4xx_problem_is_relayed_and_5xx_hidden() -> None:
    problem = {"type": "https://x/not-found", "title": "Model not found", "status": 404}
    with pytest.raises(UpstreamProblem) as relayed:
        raise_for_upstream(_response(404, problem), "catalog")
    assert relayed.value.status == 404
    assert relayed.value.problem == problem
    with pytest.raises(UpstreamFailed) as hidden:
        raise_for_upstream(_response(500, {"secret": "stack trace"}), "catalog")
    assert "stack trace" not in str(hidden.value.to_problem())


DETAIL = version_detail(
    status="ready",
    bundle={"uri": "bundles/sha256/ab.tar.gz", "sha256": "ab", "size": 2},
    image=image("r/alice/iris:3", digest="sha256:1", pull_command="docker pull r"),
)


def _key(kind: str, detail: VersionDetail) -> str:
    artifact = blob_artifact(kind, detail)
    assert artifact is not None
    return artifact.key


def test_artifact_keys_follow_the_pipeline_contract() -> None:
    bundle = blob_artifact("bundle", DETAIL)
    assert bundle is not None
    assert (bundle.key, bundle.expected_sha256) == ("bundles/sha256/ab.tar.gz", "ab")
    assert _key("proto", DETAIL) == "interfaces/alice/iris/3/model.proto"
    assert _key("openapi", DETAIL) == "interfaces/alice/iris/3/openapi.json"
    assert _key("sbom", DETAIL) == "sboms/alice/iris/3.cdx.json"


def test_without_a_usable_bundle_uri_the_shared_layout_is_used() -> None:
    sha = "cd" * 32
    elsewhere = {"uri": "s3://bucket/elsewhere", "sha256": sha, "size": 2}
    detail = DETAIL.model_copy(update={"bundle": BundleInfo.model_validate(elsewhere)})
    assert _key("bundle", detail) == f"bundles/sha256/{sha}.tar.gz"
    # A version whose upload the catalog has not recorded yet has no bundle to serve.
    assert blob_artifact("bundle", DETAIL.model_copy(update={"bundle": None})) is None
    with pytest.raises(ValueError, match="builder"):
        blob_artifact("image", DETAIL)


def test_links_name_every_artifact_kind_and_the_deployments() -> None:
    out = VersionOut.of(DETAIL, "/v")
    deployments = {"deploy-compose", "deploy-kustomize"}
    assert set(out.links) == {"self"} | {kind.value for kind in ArtifactKind} | deployments
    assert out.links["deploy-kustomize"] == "/v/deploy/kustomize"


def test_version_out_adds_the_flat_fields_and_links() -> None:
    out = VersionOut.of(DETAIL, "/v1/models/alice/iris/versions/3")
    assert out.image_ref == "r/alice/iris:3"
    assert out.pull_command == "docker pull r"
    assert out.reason is None
    assert out.links["image"] == "/v1/models/alice/iris/versions/3/image"
    failed = VersionOut.of(version_detail(status="failed", failure=failure("pip failed")), "/x")
    assert failed.reason == "pip failed"
