"""Talking to the origin instance: its peer token, its registry token, its artifact downloads.

The peer token never travels on the bus: for each job the builder asks this instance's catalog
`GET /internal/federation/peers/{peer}/credentials` (HMAC-signed like every internal call,
`modelbay_common.internal_auth`) and keeps the answer for that job only. With it the builder asks
the origin's gateway for a registry pull token (`GET /v1/registry/token`, the realm of the
origin's registry) and downloads the artifacts from the origin's `/v1`. The token is sent only
to URLs under the peer's gateway URL: an artifact URL elsewhere is refused, not fetched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx

from modelbay_builder.mirror.errors import from_status, refused, unavailable


@dataclass(frozen=True)
class PeerCredentials:
    url: str  # the peer's gateway base URL, as registered on this instance
    token: str  # an API token of an account on the origin


class PeerCredentialsSource(Protocol):
    async def credentials(self, peer: str) -> PeerCredentials: ...


class CatalogPeerCredentials:
    """The catalog's internal credentials route (the client carries `InternalAuth`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def credentials(self, peer: str) -> PeerCredentials:
        path = f"/internal/federation/peers/{quote(peer, safe='')}/credentials"
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as exc:
            raise unavailable("This instance's catalog cannot be reached.", str(exc)) from exc
        if response.status_code == 404:
            raise refused(f"Peer {peer!r} is not registered on this instance any more.")
        if response.status_code != 200:
            raise from_status(
                "This instance's catalog, asked for the peer's credentials,",
                response.status_code,
                response.text,
            )
        try:
            body = response.json()
            return PeerCredentials(url=str(body["url"]).rstrip("/"), token=str(body["token"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise unavailable("The catalog's credentials answer is malformed.", str(exc)) from exc


class Origin:
    """The origin's gateway, called with the peer token."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {token}"}

    async def registry_pull_token(self, repository: str) -> str | None:
        """A pull token for `repository` on the origin's registry; None for an open registry
        (the origin's gateway answers 404 when its registry is not behind token auth)."""
        url = f"{self.base_url}/v1/registry/token"
        try:
            response = await self._client.get(
                url, params={"scope": f"repository:{repository}:pull"}, headers=self._auth
            )
        except httpx.HTTPError as exc:
            raise unavailable("The origin cannot be reached.", str(exc)) from exc
        if response.status_code == 404:
            return None
        if response.status_code == 401:
            raise refused("The origin refused the peer token (revoked or wrong).", response.text)
        if response.status_code != 200:
            raise from_status("The origin's registry token endpoint", response.status_code)
        try:
            return str(response.json()["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise unavailable("The origin's registry token is malformed.", str(exc)) from exc

    async def download(self, url: str, sha256: str, size: int, target: Path) -> None:
        """Fetch `url` into `target`, refusing content whose SHA-256 or size is not announced."""
        if not url.startswith(f"{self.base_url}/"):
            raise refused(f"The artifact URL {url} is not on the peer's gateway {self.base_url}.")
        digest = hashlib.sha256()
        seen = 0
        try:
            async with self._client.stream("GET", url, headers=self._auth) as response:
                if response.status_code != 200:
                    raise from_status(f"The origin, asked for {url},", response.status_code)
                with target.open("wb") as file:
                    async for chunk in response.aiter_bytes():
                        seen += len(chunk)
                        if seen > size:
                            raise refused(
                                f"The artifact at {url} is larger than the {size} bytes the "
                                "origin announced."
                            )
                        digest.update(chunk)
                        file.write(chunk)
        except httpx.HTTPError as exc:
            raise unavailable("The origin cannot be reached.", str(exc)) from exc
        if seen != size or digest.hexdigest() != sha256:
            raise refused(
                f"The artifact at {url} has sha256 {digest.hexdigest()} and {seen} bytes, not the "
                f"{sha256} and {size} bytes the origin announced."
            )
