"""`modelbay pull`/`run` pull by the recorded digest (modelbay.image_pull), without I/O here.

The real registry, docker client and a re-tagged image: tests/integration/gateway/
test_registry_access.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from modelbay.errors import ApiError
from modelbay.image_pull import CatalogImage, check_tag, docker_env_with_token

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def test_the_catalog_image_is_pinned_by_digest() -> None:
    image = CatalogImage.from_version(
        {"image_ref": "127.0.0.1:5000/alice/iris:3", "image_digest": DIGEST}
    )
    assert image == CatalogImage("127.0.0.1:5000", "alice/iris", "3", DIGEST)
    assert image.reference == "127.0.0.1:5000/alice/iris:3"
    assert image.pinned == f"127.0.0.1:5000/alice/iris@{DIGEST}"


@pytest.mark.parametrize(
    "detail",
    [
        {"image_ref": "127.0.0.1:5000/alice/iris:3"},  # no digest recorded
        {"image_ref": "127.0.0.1:5000/alice/iris:3", "image_digest": "md5:00"},
        {"image_ref": "iris", "image_digest": DIGEST},
    ],
)
def test_an_image_without_a_verifiable_digest_is_not_pulled(detail: dict[str, str]) -> None:
    with pytest.raises(ApiError, match="no verifiable image"):
        CatalogImage.from_version(detail)


def test_a_moved_tag_is_refused_and_the_message_names_both_digests() -> None:
    image = CatalogImage("127.0.0.1:5000", "alice/iris", "3", DIGEST)
    check_tag(image, DIGEST)  # unchanged: fine
    check_tag(image, None)  # tag deleted: the digest is still pulled
    with pytest.raises(ApiError, match="not the one Modelbay built") as refused:
        check_tag(image, OTHER)
    assert OTHER in refused.value.detail
    assert DIGEST in refused.value.detail


def test_the_token_goes_to_a_private_docker_config_and_the_users_is_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_config = tmp_path / "user-docker"
    user_config.mkdir()
    original = {
        "auths": {"ghcr.io": {"auth": "eDp5"}},
        "credsStore": "secretservice",
        "currentContext": "default",
    }
    (user_config / "config.json").write_text(json.dumps(original))
    monkeypatch.setenv("DOCKER_CONFIG", str(user_config))

    with docker_env_with_token("127.0.0.1:5000", "the-token") as env:
        private = Path(env["DOCKER_CONFIG"])
        assert private != user_config
        written = json.loads((private / "config.json").read_text())
        assert (private / "config.json").stat().st_mode & 0o777 == 0o600
    assert written["auths"]["127.0.0.1:5000"] == {"registrytoken": "the-token"}
    assert written["auths"]["ghcr.io"] == {"auth": "eDp5"}
    assert "credsStore" not in written  # it would answer for our registry too
    assert written["currentContext"] == "default"
    assert not private.exists()  # the token ends with the command
    assert json.loads((user_config / "config.json").read_text()) == original


def test_without_a_token_docker_runs_with_the_users_own_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", "/somewhere")
    with docker_env_with_token("127.0.0.1:5000", None) as env:
        assert env["DOCKER_CONFIG"] == "/somewhere"
