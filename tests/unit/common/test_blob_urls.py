"""open_blob_store: URL forms, credentials handling and the errors for bad URLs (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbay_common.blob import InvalidBlobUrlError, open_blob_store, parse_s3_url
from modelbay_common.blob.filesystem import FilesystemBlobStore
from modelbay_common.blob.s3 import S3BlobStore


def test_s3_url_with_percent_encoded_secret_and_prefix() -> None:
    location = parse_s3_url(
        "s3://AKIAEXAMPLE:ab%2Fcd%2Bef@127.0.0.1:9000/modelbay/team/a?secure=false&region=eu-west-1"
    )

    assert location.endpoint == "127.0.0.1:9000"
    assert location.access_key == "AKIAEXAMPLE"
    assert location.secret_key == "ab/cd+ef"
    assert location.bucket == "modelbay"
    assert location.prefix == "team/a"
    assert location.secure is False
    assert location.region == "eu-west-1"
    assert "ab/cd" not in repr(location)


def test_s3_url_accepts_a_raw_slash_in_the_secret() -> None:
    location = parse_s3_url("s3://AKIAEXAMPLE:ab/cd+ef@s3.example.com/bucket-1")

    assert location.secret_key == "ab/cd+ef"
    assert location.endpoint == "s3.example.com"
    assert location.secure is True


def test_open_blob_store_picks_the_adapter(tmp_path: Path) -> None:
    s3 = open_blob_store("s3://AKIAEXAMPLE:secret@127.0.0.1:9000/modelbay/runs?secure=false")
    local = open_blob_store(tmp_path.as_uri())

    assert isinstance(s3, S3BlobStore)
    assert s3.object_name("a/b") == "runs/a/b"
    assert isinstance(local, FilesystemBlobStore)
    assert local.root == tmp_path


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("s3://127.0.0.1:9000/modelbay", "needs credentials"),
        ("s3://key:secret@127.0.0.1:9000/", "valid bucket"),
        ("s3://key:secret@127.0.0.1:9000/modelbay?secure=maybe", "true or false"),
        ("s3://key:secret@127.0.0.1:9000/modelbay?tls=1", "unknown S3 blob URL options"),
        ("file://relative/dir", "absolute"),
        ("gs://bucket", "must start with s3:// or file://"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(InvalidBlobUrlError, match=problem) as caught:
        open_blob_store(url)
    assert "secret" not in str(caught.value) or "credentials" in problem
