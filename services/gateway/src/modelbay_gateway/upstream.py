"""Clients of the internal APIs (docs/pipeline.md) and how their answers become ours.

The gateway passes the caller as `X-Modelbay-User/-Org/-Admin`. A 4xx problem from an internal
service is relayed unchanged (its 404 is the no-leak 404); a 5xx or an unreachable service becomes
a generic 502/503 with the details in the log. In stack mode the clients speak HTTP over the
network; the embedded mode hands in-process transports instead (`transports`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
from fastapi import Response

# Re-exported: the gateway's modules take the caller from here or from modelbay_common.access.
from modelbay_common.access import Caller as Caller
from modelbay_common.access import caller_headers
from modelbay_common.internal_auth import InternalAuth, resolve_secret, sign
from modelbay_common.tracing import client_span, trace_headers
from pydantic import BaseModel, ValidationError

from modelbay_gateway.errors import UpstreamFailed, UpstreamProblem, UpstreamUnavailable
from modelbay_gateway.read_transport import LeanReadTransport
from modelbay_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

ContractT = TypeVar("ContractT", bound=BaseModel)

ONBOARDING, CATALOG, BUILDER = "onboarding", "catalog", "builder"


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def model_path(owner: str, name: str) -> str:
    return f"{_segment(owner)}/{_segment(name)}"


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "title" in body:
        return body
    return {"type": "about:blank", "title": response.reason_phrase, "status": response.status_code}


def raise_for_upstream(response: httpx.Response, service: str) -> None:
    """Relay a 4xx problem, hide a 5xx behind a generic 502 (logged)."""
    if response.is_success:
        return
    if 400 <= response.status_code < 500:
        raise UpstreamProblem(response.status_code, _problem_of(response))
    log.error(
        "%s answered %s on %s %s",
        service,
        response.status_code,
        response.request.method,
        response.request.url.path,
        extra={"upstream_body": response.text[:2000] if response.is_stream_consumed else ""},
    )
    raise UpstreamFailed(service)


def json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    raise_for_upstream(response, service)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.error("%s answered a non-object body on %s", service, response.request.url.path)
        raise UpstreamFailed(service)
    return body


def parsed(response: httpx.Response, service: str, contract: type[ContractT]) -> ContractT:
    """The answer as its contract class (`modelbay_common.contracts`); a body that breaks the
    contract is the internal service's fault (502), logged with what did not match."""
    body = json_object(response, service)
    try:
        return contract.model_validate(body)
    except ValidationError as exc:
        log.error(
            "%s answered %s against its contract on %s: %s",
            service,
            contract.__name__,
            response.request.url.path,
            exc,
        )
        raise UpstreamFailed(service) from None


def forwarded_json(response: httpx.Response, service: str) -> Response:
    """A read answer of an internal service passed on as its bytes (problems relayed as in
    `raise_for_upstream`).

    For read routes whose public answer is exactly the internal contract (search, a model):
    parsing it into the contract class and serialising it again cost the gateway 1.4–1.7 ms
    of CPU per search page for nothing (docs/benchmarks.md, "Catalog search"). The contract still
    documents the route (`response_model`), and tests validate the forwarded answers against
    it (tests/integration/gateway/test_gateway_catalog_forwarding.py) instead of every request.
    """
    raise_for_upstream(response, service)
    return Response(content=response.content, media_type="application/json")


class Upstreams:
    """The internal clients, built once per process and closed at shutdown.

    Per service: `clients` (httpx's own transport; streamed answers, uploads, every method) and,
    when the service is called over the network and `UPSTREAM_LEAN_READS` is on, a client on
    `LeanReadTransport` for the GETs answered whole (`request`), about 0.5 ms of CPU cheaper a
    call (read_transport.py). Both sign every call (modelbay_common.internal_auth).
    """

    def __init__(
        self,
        settings: GatewaySettings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        transports = transports or {}
        timeout = httpx.Timeout(settings.upstream_timeout_seconds)
        limits = httpx.Limits(max_connections=settings.upstream_max_connections)
        bases = {
            ONBOARDING: settings.onboarding_url,
            CATALOG: settings.catalog_url,
            BUILDER: settings.builder_url,
        }
        # One signer for all; an HMAC costs about 0.01 ms a call (measured), nothing to cache.
        signer = InternalAuth(settings.internal_secret)

        def client(url: str, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=url, timeout=timeout, transport=transport, limits=limits, auth=signer
            )

        self.clients = {
            service: client(url, transports.get(service)) for service, url in bases.items()
        }
        self._readers: dict[str, httpx.AsyncClient] = {}
        # The lean readers of plain-HTTP services, for `forwarded_read`: transport, host, port
        # and the base URL's path.
        self._lean: dict[str, tuple[LeanReadTransport, str, int, str]] = {}
        for service, url in bases.items():
            if not settings.upstream_lean_reads or service in transports:
                continue
            transport = LeanReadTransport(max_connections=settings.upstream_max_connections)
            self._readers[service] = client(url, transport)
            base = httpx.URL(url)
            if base.scheme == "http":
                path = base.raw_path.decode("ascii").rstrip("/")
                self._lean[service] = (transport, base.host, base.port or 80, path)
        self._secret = resolve_secret(settings.internal_secret)
        self._timeouts = timeout.as_dict()

    async def aclose(self) -> None:
        for client in (*self.clients.values(), *self._readers.values()):
            await client.aclose()

    async def request(
        self, service: str, method: str, path: str, caller: Caller | None, **options: Any
    ) -> httpx.Response:
        headers = {**(caller_headers(caller) if caller else {}), **options.pop("headers", {})}
        client = (self._readers.get(service) if method == "GET" else None) or self.clients[service]
        # The span and its W3C headers carry the trace into the internal service.
        with client_span(f"{service} {method}", **{"url.path": path}) as trace_headers:
            try:
                return await client.request(
                    method, path, headers={**headers, **trace_headers}, **options
                )
            except httpx.TransportError as exc:
                log.warning("%s unreachable on %s %s: %s", service, method, path, exc)
                raise UpstreamUnavailable(service) from exc

    async def forwarded_read(
        self,
        service: str,
        path: str,
        caller: Caller,
        params: Mapping[str, str | int] | None = None,
    ) -> Response:
        """A GET answered whole, passed on as its bytes (`forwarded_json`, problems relayed the
        same way). On a lean reader the request is signed, written and read without httpx's
        client, URL, request and response objects: those were three quarters of the gateway's
        own CPU on a search once FastAPI was off its path (docs/benchmarks.md, "Catalog
        search", session 6). Elsewhere (in-process transports, HTTPS) through `request`."""
        lean = self._lean.get(service)
        if lean is None:
            response = await self.request(service, "GET", path, caller, params=params)
            return forwarded_json(response, service)
        transport, host, port, base = lean
        target = base + path + ("?" + urlencode(params) if params else "")
        headers = caller_headers(caller)
        with client_span(f"{service} GET", **{"url.path": path}) as carried:
            headers.update(carried)
            headers.update(sign(self._secret, "GET", target, headers.items()))
            head = transport.request_head(
                "GET", target.encode("ascii"), host, port, headers.items()
            )
            try:
                status, answered, content = await transport.send_raw(
                    host, port, head, self._timeouts
                )
            except httpx.TransportError as exc:
                log.warning("%s unreachable on GET %s: %s", service, path, exc)
                raise UpstreamUnavailable(service) from exc
        if 200 <= status < 300:
            return Response(content=content, media_type="application/json")
        # Rare: the problem is relayed (or hidden) by the same code as any other answer's.
        request = httpx.Request("GET", f"http://{host}:{port}{target}")
        response = httpx.Response(status, headers=answered, content=content, request=request)
        return forwarded_json(response, service)

    @asynccontextmanager
    async def stream(
        self, service: str, method: str, path: str, caller: Caller, **options: Any
    ) -> AsyncIterator[httpx.Response]:
        """A streamed response (body not read yet); problems are raised before yielding."""
        headers = {**caller_headers(caller), **options.pop("headers", {}), **trace_headers()}
        client = self.clients[service]
        request = client.build_request(method, path, headers=headers, **options)
        try:
            response = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            log.warning("%s unreachable on %s %s: %s", service, method, path, exc)
            raise UpstreamUnavailable(service) from exc
        try:
            if not response.is_success:
                await response.aread()
                raise_for_upstream(response, service)
            yield response
        finally:
            await response.aclose()
