"""Blob store: port, adapters (S3 via minio, filesystem) and :func:`open_blob_store`.

URL forms (see docs/blob-store.md):

* ``file:///absolute/dir``
* ``s3://ACCESS_KEY:SECRET_KEY@host:port/bucket[/key-prefix][?secure=false&region=us-east-1]``
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from modelbay_common.blob.port import (
    DEFAULT_CONTENT_TYPE,
    BlobInfo,
    BlobNotFoundError,
    BlobSource,
    BlobStore,
    BlobStoreError,
    BlobStoreUnavailableError,
    BlobTooLargeError,
    CorruptBlobError,
    InvalidBlobKeyError,
    validate_key,
)

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "BlobInfo",
    "BlobNotFoundError",
    "BlobSource",
    "BlobStore",
    "BlobStoreError",
    "BlobStoreUnavailableError",
    "BlobTooLargeError",
    "CorruptBlobError",
    "InvalidBlobKeyError",
    "InvalidBlobUrlError",
    "S3Location",
    "open_blob_store",
    "parse_s3_url",
    "validate_key",
]

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


class InvalidBlobUrlError(ValueError):
    """The blob URL cannot be understood; the message shows the expected form."""


class S3Location:
    """The parts of an ``s3://`` blob URL."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        prefix: str,
        secure: bool,
        region: str,
    ) -> None:
        self.endpoint, self.access_key, self.secret_key = endpoint, access_key, secret_key
        self.bucket, self.prefix, self.secure, self.region = bucket, prefix, secure, region

    def __repr__(self) -> str:  # never print the secret
        return (
            f"S3Location(endpoint={self.endpoint!r}, bucket={self.bucket!r}, "
            f"prefix={self.prefix!r})"
        )


def _flag(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise InvalidBlobUrlError(f"blob URL option {name}={value!r} must be true or false")


def parse_s3_url(url: str) -> S3Location:
    """Split an ``s3://`` URL. Credentials may be percent-encoded; a raw ``/`` or ``+`` in the
    secret (common in generated keys) is accepted too, because the split is at the last ``@``."""
    form = "s3://ACCESS_KEY:SECRET_KEY@host:port/bucket[/prefix]?secure=false"
    rest = url.removeprefix("s3://")
    rest, _, query = rest.partition("?")
    userinfo, at, location = rest.rpartition("@")
    access_key, colon, secret_key = userinfo.partition(":")
    if not at or not colon or not access_key or not secret_key:
        raise InvalidBlobUrlError(f"S3 blob URL needs credentials: expected {form}")
    endpoint, _, path = location.partition("/")
    bucket, _, prefix = path.partition("/")
    if not endpoint or not _BUCKET.fullmatch(bucket):
        raise InvalidBlobUrlError(f"S3 blob URL needs host and a valid bucket: expected {form}")
    options = {name: values[-1] for name, values in parse_qs(query).items()}
    unknown = set(options) - {"secure", "region"}
    if unknown:
        raise InvalidBlobUrlError(
            f"unknown S3 blob URL options {sorted(unknown)}; known: secure, region"
        )
    return S3Location(
        endpoint=endpoint,
        access_key=unquote(access_key),
        secret_key=unquote(secret_key),
        bucket=bucket,
        prefix=unquote(prefix).strip("/"),
        secure=_flag(options.get("secure", "true"), "secure"),
        region=options.get("region", "us-east-1"),
    )


def _open_s3(url: str) -> BlobStore:
    # Imported here so that the filesystem mode never loads the S3 SDK.
    from minio import Minio

    from modelbay_common.blob.s3 import S3BlobStore

    location = parse_s3_url(url)
    client = Minio(
        location.endpoint,
        access_key=location.access_key,
        secret_key=location.secret_key,
        secure=location.secure,
        # A fixed region spares the SDK a bucket-location round trip before each first call.
        region=location.region,
    )
    return S3BlobStore(client, location.bucket, prefix=location.prefix)


def _open_filesystem(url: str) -> BlobStore:
    from modelbay_common.blob.filesystem import FilesystemBlobStore

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise InvalidBlobUrlError(f"file blob URL must be file:///absolute/dir, got {url!r}")
    return FilesystemBlobStore(Path(unquote(parts.path)))


def open_blob_store(url: str) -> BlobStore:
    """The blob store a URL names. No I/O happens here: call ``ensure_ready()`` at start-up."""
    if url.startswith("s3://"):
        return _open_s3(url)
    if url.startswith("file:"):
        return _open_filesystem(url)
    raise InvalidBlobUrlError(
        f"blob URL must start with s3:// or file://, got {url.split(':')[0]!r}"
    )
