"""moto's S3 server with authentication on, able to serve presigned URLs.

With INITIAL_NO_AUTH_ACTION_COUNT=0, moto 5 checks the SigV4 `Authorization` header of every
request against its in-memory IAM users, but a request *without* that header (a presigned URL,
whose signature is in the query string, or an anonymous request) crashes its access check with a
500 (moto/iam/access_control.py reads headers["Authorization"] unconditionally). This launcher
runs the same WSGI application `moto_server` runs, behind a small gate that:

* answers anonymous requests with S3's own `403 AccessDenied`;
* checks a presigned GET/HEAD itself (SigV4 query signature recomputed with the key's secret from
  moto's IAM, expiry), then hands moto the same request signed in the Authorization header with
  that same key, so moto's signature and IAM policy checks still decide.

Usage: python moto_s3_server.py HOST PORT
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
PRESIGN_PARAMS = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
}
RESIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"


class RefusedError(Exception):
    """A request S3 would refuse; code and message become the S3 error document."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def s3_error(environ: Environ, start_response: StartResponse, error: RefusedError) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>"
    ).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def raw_path(environ: Environ) -> str:
    raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"])
    return raw_uri.split("?", 1)[0]


def secret_for(access_key: str) -> Any:
    """The botocore Credentials of an IAM user's key, looked up the way moto does."""
    from moto.iam.access_control import CreateAccessKeyFailure, IAMUserAccessKey
    from moto.iam.models import get_account_id_from

    try:
        key = IAMUserAccessKey(get_account_id_from(access_key), "aws", access_key, headers={})
    except CreateAccessKeyFailure as failure:
        raise RefusedError(
            "InvalidAccessKeyId", "The AWS Access Key Id does not exist."
        ) from failure
    return key.create_credentials()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def query_signature(
    environ: Environ, params: list[tuple[str, str]], secret: str, scope: list[str]
) -> str:
    """SigV4 for a presigned request: canonical request with UNSIGNED-PAYLOAD."""
    fields = dict(params)
    canonical_query = "&".join(
        f"{quote(key, safe='-_.~')}={quote(value, safe='-_.~')}"
        for key, value in sorted(params)
        if key != "X-Amz-Signature"
    )
    signed_headers = fields["X-Amz-SignedHeaders"].split(";")
    canonical_headers = "".join(
        f"{name}:{' '.join(header(environ, name).split())}\n" for name in signed_headers
    )
    canonical_request = "\n".join(
        [
            environ["REQUEST_METHOD"],
            raw_path(environ),
            canonical_query,
            canonical_headers,
            fields["X-Amz-SignedHeaders"],
            "UNSIGNED-PAYLOAD",
        ]
    )
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            fields["X-Amz-Date"],
            "/".join(scope),
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in scope:
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def header(environ: Environ, name: str) -> str:
    if name == "host":
        return str(environ.get("HTTP_HOST", ""))
    if name in {"content-type", "content-length"}:
        return str(environ.get(name.upper().replace("-", "_"), ""))
    return str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))


def check_presigned(environ: Environ, params: list[tuple[str, str]]) -> tuple[Any, str]:
    """Verify a presigned request; return the key's credentials and the signing region."""
    fields = dict(params)
    if environ["REQUEST_METHOD"] not in {"GET", "HEAD"}:
        raise RefusedError("AccessDenied", "This test server accepts presigned GET and HEAD only.")
    if fields.get("X-Amz-Algorithm") != ALGORITHM or "X-Amz-Security-Token" in fields:
        raise RefusedError("AccessDenied", f"Only {ALGORITHM} presigned URLs of IAM user keys.")
    try:
        access_key, *scope = fields["X-Amz-Credential"].split("/")
        signed_at = datetime.strptime(fields["X-Amz-Date"], AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        expires = timedelta(seconds=int(fields["X-Amz-Expires"]))
        fields["X-Amz-SignedHeaders"]
    except (KeyError, ValueError) as malformed:
        raise RefusedError(
            "AuthorizationQueryParametersError", "Malformed presigned URL."
        ) from malformed
    if len(scope) != 4 or scope[3] != "aws4_request":
        raise RefusedError("AuthorizationQueryParametersError", "Malformed credential scope.")
    if datetime.now(UTC) > signed_at + expires:
        raise RefusedError("AccessDenied", "Request has expired")
    credentials = secret_for(access_key)
    expected = query_signature(environ, params, credentials.secret_key, scope)
    if not hmac.compare_digest(expected, fields["X-Amz-Signature"]):
        raise RefusedError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return credentials, scope[1]


def sign_in_header(environ: Environ, credentials: Any, region: str) -> None:
    """Rewrite the verified request as a header-signed one, exactly as moto will check it."""
    from botocore.auth import S3SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]

    kept = [
        piece
        for piece in str(environ.get("QUERY_STRING", "")).split("&")
        if piece and unquote(piece.split("=", 1)[0]) not in PRESIGN_PARAMS
    ]
    query = "&".join(kept)
    path = raw_path(environ)
    url = f"{path}?{query}" if query else path
    now = datetime.now(UTC).strftime(AMZ_DATE_FORMAT)
    headers = {"Host": environ["HTTP_HOST"], "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    headers["X-Amz-Date"] = now
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=url, headers=headers)
    request.context["timestamp"] = now
    auth = S3SigV4Auth(credentials, "s3", region)
    signature = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    environ["QUERY_STRING"] = query
    environ["RAW_URI"] = environ["REQUEST_URI"] = url
    environ["HTTP_X_AMZ_DATE"] = now
    environ["HTTP_X_AMZ_CONTENT_SHA256"] = "UNSIGNED-PAYLOAD"
    environ["HTTP_AUTHORIZATION"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{now[:8]}/{region}/s3/aws4_request, "
        f"SignedHeaders={RESIGNED_HEADERS}, Signature={signature}"
    )


class PresignedUrlGate:
    """WSGI middleware in front of moto; see the module docstring."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        unsigned = "HTTP_AUTHORIZATION" not in environ
        # moto's own dashboard/control API and CORS preflights carry no credentials by design.
        exempt = environ["PATH_INFO"].startswith("/moto-api") or (
            environ["REQUEST_METHOD"] == "OPTIONS"
        )
        if unsigned and not exempt:
            params = parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
            try:
                names = dict(params)
                if "Signature" in names:  # boto3's default for S3 presigning is still SigV2
                    raise RefusedError("AccessDenied", f"Only {ALGORITHM} (SigV4) presigned URLs.")
                if "X-Amz-Signature" not in names:
                    raise RefusedError("AccessDenied", "Access Denied")
                credentials, region = check_presigned(environ, params)
            except RefusedError as refused:
                return s3_error(environ, start_response, refused)
            sign_in_header(environ, credentials, region)
        return self.app(environ, start_response)


def main(host: str, port: int) -> None:
    # Must be set before moto reads its settings: every request is authenticated.
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        PresignedUrlGate(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
