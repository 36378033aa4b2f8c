"""Reading a peer's gateway: its public keys (`/v1/keys`) and its changes feed.

One `httpx.AsyncClient` per catalog process (built by `main.py`, closed at stop; tests hand in
one whose transport is another instance's in-process gateway). Every way a peer can fail to
answer becomes `OriginError` with one sentence: the sync loop records it and backs off.
"""

from __future__ import annotations

from typing import Any

import httpx
from modelbay_common.contracts.federation import FeedPage
from pydantic import ValidationError

from modelbay_catalog.federation.records import PeerKeyRecord

KEYS_PATH = "/v1/keys"
CHANGES_PATH = "/v1/federation/changes"


class OriginError(Exception):
    """The peer did not answer as a Modelbay gateway; `str()` says how, in one sentence."""


async def _get(
    http: httpx.AsyncClient, url: str, token: str | None, params: dict[str, Any] | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = await http.get(url, headers=headers, params=params)
    except httpx.HTTPError as exc:
        raise OriginError(f"{url} did not answer ({type(exc).__name__}: {exc})") from None
    if response.status_code in (401, 403):
        raise OriginError(
            f"{url} refused the peer token (HTTP {response.status_code}); ask the peer's "
            "administrator for a new one and update the peer"
        )
    if not response.is_success:
        raise OriginError(f"{url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise OriginError(f"{url} did not answer JSON") from None


async def fetch_keys(http: httpx.AsyncClient, base_url: str) -> tuple[PeerKeyRecord, ...]:
    """The peer's public signing keys (anyone may read them)."""
    body = await _get(http, base_url + KEYS_PATH, None)
    try:
        keys = body["keys"]
        return tuple(PeerKeyRecord(str(key["key_id"]), str(key["pem"])) for key in keys)
    except (KeyError, TypeError):
        raise OriginError(f"{base_url}{KEYS_PATH} is not a Modelbay key list") from None


async def fetch_changes(
    http: httpx.AsyncClient, base_url: str, token: str, after: str, limit: int
) -> FeedPage:
    url = base_url + CHANGES_PATH
    body = await _get(http, url, token, {"after": after, "limit": limit})
    try:
        return FeedPage.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise OriginError(
            f"{url} answered a feed page this instance cannot read ({where}: {first['msg']})"
        ) from None
