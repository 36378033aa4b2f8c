"""The shared blob key layouts (modelbay_common.blob.keys), the artifact kinds and the
local-process image references: the strings every producer and consumer agree on."""

from __future__ import annotations

import pytest
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.blob import InvalidBlobKeyError
from modelbay_common.blob.keys import (
    bundle_key,
    image_tarball_path,
    interface_prefix,
    openapi_key,
    proto_key,
    sbom_key,
    wheelhouse_key,
)
from modelbay_common.refs import (
    LOCAL_PROCESS_SCHEME,
    is_local_process_ref,
    local_process_ref,
    served_url,
)

SHA = "ab" * 32


def test_each_layout_is_the_documented_one() -> None:
    # docs/pipeline.md, "Blob keys": changing one of these strands every stored object.
    assert bundle_key(SHA) == f"bundles/sha256/{SHA}.tar.gz"
    assert interface_prefix("alice", "iris", 3) == "interfaces/alice/iris/3"
    assert proto_key("alice", "iris", 3) == "interfaces/alice/iris/3/model.proto"
    assert openapi_key("alice", "iris", 3) == "interfaces/alice/iris/3/openapi.json"
    assert wheelhouse_key("f00d") == "wheelhouses/f00d.tar"
    assert sbom_key("alice", "iris", 3) == "sboms/alice/iris/3.cdx.json"


def test_the_image_tarball_is_a_builder_path_with_quoted_segments() -> None:
    assert image_tarball_path("alice", "iris", 3) == "/internal/images/alice/iris/3/tarball"
    assert image_tarball_path("a/b", "c d", 1) == "/internal/images/a%2Fb/c%20d/1/tarball"


@pytest.mark.parametrize("sha", ["", "AB" * 32, "ab" * 31, "../" + "ab" * 31])
def test_a_bundle_key_needs_a_lowercase_sha256(sha: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        bundle_key(sha)


def test_a_key_cannot_escape_its_store() -> None:
    with pytest.raises(InvalidBlobKeyError):
        sbom_key("..", "iris", 1)
    with pytest.raises(InvalidBlobKeyError):
        wheelhouse_key("../x")


def test_every_artifact_kind_has_a_media_type_description_and_file_name() -> None:
    assert [kind.value for kind in ArtifactKind] == [
        "bundle",
        "proto",
        "openapi",
        "sbom",
        "image",
        "provenance",
    ]
    for kind in ArtifactKind:
        assert kind.media_type
        assert kind.description
        assert "3" in kind.filename("alice", "iris", 3)
    assert ArtifactKind.BUNDLE.filename("alice", "iris", 3) == "alice-iris-3.tar.gz"
    assert ArtifactKind.SBOM.media_type == "application/vnd.cyclonedx+json"
    # Only the image is streamed by the builder; the rest come from the blob store.
    assert [kind for kind in ArtifactKind if not kind.in_blob_store] == [ArtifactKind.IMAGE]


def test_local_process_refs_round_trip_to_the_served_url() -> None:
    ref = local_process_ref("127.0.0.1", 41234, "alice", "iris", 3)
    assert ref == "local-process://127.0.0.1:41234/alice/iris/3"
    assert ref.startswith(LOCAL_PROCESS_SCHEME)
    assert is_local_process_ref(ref)
    assert served_url(ref) == "http://127.0.0.1:41234"


@pytest.mark.parametrize("ref", [None, "127.0.0.1:5000/alice/iris:3", "docker.io/x/local-process"])
def test_a_registry_image_is_not_served_locally(ref: str | None) -> None:
    assert not is_local_process_ref(ref)
    assert served_url(ref) is None
