"""Authenticated internal calls: the gateway signs, the internal services verify, in one place.

The internal services (onboarding, catalog, builder) believe the caller headers of
`modelbay_common.access` (`X-Modelbay-User`, `-Admin`, ...). Before issue 11 (defect 8) they
believed them from anything that could reach their port: a forged `X-Modelbay-Admin: true` read
private models, and the builder served image tarballs to anyone. Now every internal request
carries

- `X-Modelbay-Timestamp`: Unix seconds when it was signed, and
- `X-Modelbay-Signature`: `v1=` + hex HMAC-SHA256, keyed with the shared internal secret, over
  the method, the request target (path and query, as sent), the timestamp and every other
  `X-Modelbay-*` header (names lower-cased, sorted), one per line.

`InternalAuthMiddleware` refuses anything else with 401 problem+json before a route runs (health
and readiness probes and Prometheus scrapes of `/metrics` excepted): no signature, a wrong one
(another secret, a changed header, path or method), or a timestamp more than `MAX_SKEW_SECONDS`
away from now (a replayed old request).
A replay inside that window is possible; the window is short and the transport is the operator's
private network (put TLS on it where that network is not trusted).

The secret is `MODELBAY_INTERNAL_SECRET` (`ServiceSettings.internal_secret`), the same for every
service. Unset, a process uses a random secret of its own (`process_secret`): the embedded mode
and in-process test compositions, whose services share one process, work with no configuration
and a new secret per start, while separate processes left unconfigured refuse each other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Generator, Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, TypeVar

import httpx
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from modelbay_common.errors import ProblemResponse, build_problem, problem_type_uri

if TYPE_CHECKING:
    from fastapi import FastAPI

AppT = TypeVar("AppT", bound="FastAPI")

__all__ = [
    "EXEMPT_PATHS",
    "MAX_SKEW_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "InternalAuth",
    "InternalAuthError",
    "InternalAuthMiddleware",
    "internal_app",
    "process_secret",
    "resolve_secret",
    "sign",
    "signed_headers",
    "verify",
]

TIMESTAMP_HEADER = "X-Modelbay-Timestamp"
SIGNATURE_HEADER = "X-Modelbay-Signature"
MAX_SKEW_SECONDS = 30
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes
_SCHEME = "v1="
_SIGNED_PREFIX = "x-modelbay-"
_OWN_HEADERS = frozenset({TIMESTAMP_HEADER.lower(), SIGNATURE_HEADER.lower()})


class InternalAuthError(Exception):
    """An internal request is not signed by someone holding the internal secret; says why."""


@cache
def process_secret() -> str:
    """A random secret for this process, made once: used when none is configured."""
    return secrets.token_urlsafe(32)


def resolve_secret(configured: SecretStr | str | None) -> str:
    """The configured internal secret, or this process's own when none is."""
    if configured is None:
        return process_secret()
    value = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
    return value or process_secret()


def _canonical(
    method: str, target: str, timestamp: str, headers: Iterable[tuple[str, str]]
) -> bytes:
    signed = sorted(
        (name.lower(), value.strip())
        for name, value in headers
        if name.lower().startswith(_SIGNED_PREFIX) and name.lower() not in _OWN_HEADERS
    )
    lines = [method.upper(), target, timestamp, *(f"{name}:{value}" for name, value in signed)]
    return "\n".join(lines).encode()


def _mac(secret: str, message: bytes) -> str:
    return _SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    secret: str,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    *,
    now: float | None = None,
) -> dict[str, str]:
    """The timestamp and signature headers for a request (`target`: path and query as sent)."""
    timestamp = str(int(time.time() if now is None else now))
    signature = _mac(secret, _canonical(method, target, timestamp, headers))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}


def verify(
    secret: str,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    *,
    now: float | None = None,
) -> None:
    """Raise InternalAuthError unless the request was signed with `secret` recently."""
    pairs = list(headers)
    by_name = {name.lower(): value for name, value in pairs}
    timestamp = by_name.get(TIMESTAMP_HEADER.lower())
    signature = by_name.get(SIGNATURE_HEADER.lower())
    if not timestamp or not signature:
        raise InternalAuthError(
            f"internal calls must be signed ({TIMESTAMP_HEADER} and {SIGNATURE_HEADER}); only "
            "the gateway, holding MODELBAY_INTERNAL_SECRET, calls this service"
        )
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise InternalAuthError(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - signed_at) > MAX_SKEW_SECONDS:
        raise InternalAuthError(
            f"the signature is {int(current - signed_at)} s old; at most {MAX_SKEW_SECONDS} s "
            "are accepted (a replayed request, or clocks apart)"
        )
    expected = _mac(secret, _canonical(method, target, timestamp, pairs))
    if not hmac.compare_digest(expected, signature):
        raise InternalAuthError(
            "the signature does not match the request (another secret, or a header, path or "
            "method changed on the way)"
        )


class InternalAuth(httpx.Auth):
    """httpx authentication that signs every request of an internal client."""

    def __init__(self, secret: SecretStr | str | None = None) -> None:
        self._secret = resolve_secret(secret)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        for name, value in sign(
            self._secret, request.method, target, request.headers.multi_items()
        ).items():
            request.headers[name] = value
        yield request


def _target_of(scope: Scope) -> str:
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


class InternalAuthMiddleware:
    """Refuse every request to an internal API that `InternalAuth` did not sign (401)."""

    def __init__(
        self, app: ASGIApp, secret: SecretStr | str | None = None, exempt: Iterable[str] = ()
    ) -> None:
        self.app = app
        self._secret = resolve_secret(secret)
        self._exempt = EXEMPT_PATHS | frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self._exempt:
            await self.app(scope, receive, send)
            return
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope.get("headers", [])
        ]
        try:
            verify(self._secret, scope["method"], _target_of(scope), headers)
        except InternalAuthError as refused:
            problem = build_problem(
                type_uri=problem_type_uri("internal-auth-failed"),
                title="Internal call not authenticated",
                status=401,
                detail=str(refused),
                instance=scope.get("path"),
            )
            await ProblemResponse(problem, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def internal_app(app: AppT, secret: SecretStr | str | None) -> AppT:
    """`app` (an internal service's FastAPI app) refusing unsigned calls: the one place each
    internal service's composition root (`main.py`) turns the check on."""
    app.add_middleware(InternalAuthMiddleware, secret=secret)
    return app


def signed_headers(
    secret: SecretStr | str | None, method: str, target: str, headers: Mapping[str, str]
) -> dict[str, str]:
    """`headers` plus their signature: for callers that build requests by hand (tests, tools)."""
    return {**headers, **sign(resolve_secret(secret), method, target, headers.items())}
