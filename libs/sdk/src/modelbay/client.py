"""A small typed client of a Modelbay platform's public `/v1` API (used by the CLI).

    with ModelbayClient() as client:          # MODELBAY_URL / MODELBAY_TOKEN or `modelbay login`
        version = client.version("alice", "iris", 3)

URL and token are found exactly like `Session` finds them (`modelbay.config`). Every refusal of
the platform (its RFC 9457 problem+json) raises `ApiError` with the problem's title and detail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from modelbay.config import TOKEN_ENV, resolve_credentials
from modelbay.errors import ApiError, raise_for_problem

FINAL_STATUSES = frozenset({"ready", "failed"})


@dataclass(frozen=True)
class ModelRef:
    """`owner/name[:version]` or `owner/name@alias` as typed on the command line.

    An alias (`stable`, `latest`, ...) names a version the platform resolves:
    `ModelbayClient.pin` turns the reference into the version number it names now.
    """

    owner: str
    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str, *, version_required: bool = False) -> ModelRef:
        expected = f"expected OWNER/NAME[:VERSION] or OWNER/NAME@ALIAS, got {text!r}"
        reference, at, alias = text.partition("@")
        if at:
            if ":" in text or not _ALIAS.match(alias):
                raise ApiError("bad model reference", expected)
            owner, name = _owner_and_name(reference, expected)
            return cls(owner, name, alias=alias)
        reference, _, version_text = text.partition(":")
        owner, name = _owner_and_name(reference, expected)
        if version_text and not version_text.isdigit():
            raise ApiError("bad model reference", f"the version must be a number, got {text!r}")
        if version_required and not version_text:
            raise ApiError(
                "bad model reference", f"give a version: {owner}/{name}:VERSION or @ALIAS"
            )
        return cls(owner, name, int(version_text) if version_text else None)

    def __str__(self) -> str:
        if self.version is None and self.alias is not None:
            return f"{self.owner}/{self.name}@{self.alias}"
        suffix = f":{self.version}" if self.version is not None else ""
        return f"{self.owner}/{self.name}{suffix}"


_ALIAS = re.compile(r"^[a-z][a-z0-9._-]{0,39}$")


def _owner_and_name(reference: str, expected: str) -> tuple[str, str]:
    owner, slash, name = reference.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise ApiError("bad model reference", expected)
    return owner, name


class ModelbayClient:
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        credentials = resolve_credentials(url, token)
        if credentials.url.startswith("file:"):
            raise ApiError(f"{credentials.url} is a directory, not a platform", "set MODELBAY_URL")
        self.url = credentials.url
        headers = {"Authorization": f"Bearer {credentials.token}"} if credentials.token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self._has_token = credentials.token is not None

    def __enter__(self) -> ModelbayClient:  # not typing.Self: the SDK runs on Python 3.10
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.url}", str(exc)) from exc
        if response.status_code == 401 and not self._has_token:
            raise ApiError("not signed in", f"set {TOKEN_ENV} or run `modelbay login`", 401)
        raise_for_problem(response)
        return response.json() if response.content else None

    def me(self) -> dict[str, Any]:
        return dict(self._request("GET", "/v1/me"))

    def search(self, query: str | None = None, **filters: str | int | None) -> dict[str, Any]:
        params = {key: value for key, value in {"q": query, **filters}.items() if value}
        return dict(self._request("GET", "/v1/models", params=params))

    def model(self, owner: str, name: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/models/{owner}/{name}"))

    def version(self, owner: str, name: str, version: int) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/models/{owner}/{name}/versions/{version}"))

    def delete_model(self, owner: str, name: str, *, force: bool = False) -> dict[str, Any]:
        """Delete a model and every version of it (`force`: even when a solution uses it)."""
        params = {"force": "true"} if force else {}
        return dict(self._request("DELETE", f"/v1/models/{owner}/{name}", params=params))

    def alias(self, owner: str, name: str, alias: str) -> dict[str, Any]:
        """The alias and the version it names (`latest`: the newest ready version)."""
        return dict(self._request("GET", f"/v1/models/{owner}/{name}/aliases/{alias}"))

    def pin(self, ref: ModelRef) -> ModelRef:
        """`ref` with the version number its alias names now (unchanged without an alias)."""
        if ref.version is not None or ref.alias is None:
            return ref
        return ModelRef(
            ref.owner, ref.name, int(self.alias(ref.owner, ref.name, ref.alias)["version"])
        )

    def resolve_version(self, ref: ModelRef) -> int:
        """The version `ref` names (a number or an alias), or the model's newest one."""
        ref = self.pin(ref)
        if ref.version is not None:
            return ref.version
        latest = self.model(ref.owner, ref.name).get("latest_version")
        if not isinstance(latest, int):
            raise ApiError("no versions", f"{ref} has no version yet; push one first")
        return latest

    def registry_token(self, repository: str) -> str | None:
        """A short-lived pull token for the image repository `owner/name`, from the platform's
        registry realm; None when the platform issues none (its registry is open)."""
        scope = f"repository:{repository}:pull"
        try:
            response = self._http.get("/v1/registry/token", params={"scope": scope})
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.url}", str(exc)) from exc
        if response.status_code == 404:
            return None
        raise_for_problem(response)
        return str(response.json()["token"])

    def signing_keys(self) -> list[str]:
        """The PEM public keys the platform signs images and provenance with (`GET /v1/keys`)."""
        try:
            response = self._http.get("/v1/keys")
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.url}", str(exc)) from exc
        raise_for_problem(response)
        return [str(key["pem"]) for key in response.json().get("keys") or []]

    def deployment_archive(
        self, owner: str, name: str, version: int, kind: str, archive_format: str = "tar.gz"
    ) -> bytes:
        """The `kind` (compose, kustomize) deployment archive of a version, as bytes."""
        path = f"/v1/models/{owner}/{name}/versions/{version}/deploy/{kind}"
        try:
            response = self._http.get(path, params={"format": archive_format})
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.url}", str(exc)) from exc
        if response.status_code == 401 and not self._has_token:
            raise ApiError("not signed in", f"set {TOKEN_ENV} or run `modelbay login`", 401)
        raise_for_problem(response)
        return response.content

    def dead_letters(self, limit: int = 20) -> dict[str, Any]:
        """Every known consumer's dead-letter queue and its first letters (administrators)."""
        return dict(self._request("GET", "/v1/admin/dead-letters", params={"limit": limit}))

    def collect_garbage(self, *, dry_run: bool) -> dict[str, Any]:
        """Run the artifact garbage collector; what it reclaimed or would (administrators)."""
        params = {"dry_run": "true" if dry_run else "false"}
        return dict(self._request("POST", "/v1/admin/gc", params=params))

    def platform_status(self) -> dict[str, Any]:
        """Every service's health, queues, outbox and stuck work (administrators)."""
        return dict(self._request("GET", "/v1/admin/status"))

    def replay_dead_letters(self, consumer: str, limit: int | None = None) -> int:
        """Move `consumer`'s dead letters back to its queue; how many moved (administrators)."""
        params = {} if limit is None else {"limit": limit}
        path = f"/v1/admin/dead-letters/{consumer}/replay"
        return int(self._request("POST", path, params=params)["replayed"])

    # -- federation peers (administrators; docs/federation.md) ------------------------------

    def peers(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/admin/peers")["items"])

    def peer(self, name: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/admin/peers/{quote(name, safe='')}"))

    def add_peer(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._request("POST", "/v1/admin/peers", json=body))

    def update_peer(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._request("PATCH", f"/v1/admin/peers/{quote(name, safe='')}", json=body))

    def refresh_peer_keys(self, name: str) -> dict[str, Any]:
        path = f"/v1/admin/peers/{quote(name, safe='')}/refresh-keys"
        return dict(self._request("POST", path))

    def sync_peer(self, name: str) -> dict[str, Any]:
        return dict(self._request("POST", f"/v1/admin/peers/{quote(name, safe='')}/sync"))

    def remove_peer(self, name: str) -> None:
        self._request("DELETE", f"/v1/admin/peers/{quote(name, safe='')}")

    def publish(self, owner: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._request("POST", f"/v1/models/{owner}/{name}/publish", json=body))

    def events(self, **filters: str | int | None) -> Iterator[dict[str, Any]]:
        """The CloudEvents of `GET /v1/events` (Server-Sent Events), as they arrive."""
        params = {key: value for key, value in filters.items() if value is not None}
        timeout = httpx.Timeout(30.0, read=None)  # an event stream may be quiet for long
        try:
            with self._http.stream("GET", "/v1/events", params=params, timeout=timeout) as stream:
                if not stream.is_success:
                    stream.read()
                    raise_for_problem(stream)
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        yield json.loads(line[len("data: ") :])
        except httpx.HTTPError as exc:
            raise ApiError(f"lost the event stream of {self.url}", str(exc)) from exc
