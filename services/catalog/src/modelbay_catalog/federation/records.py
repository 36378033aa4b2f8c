"""What the federation store hands to the use cases: plain frozen records, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelbay_catalog.federation.rules import ChangeAction, MirrorState, Subscription


@dataclass(frozen=True)
class PeerKeyRecord:
    key_id: str
    pem: str


@dataclass(frozen=True)
class PeerRecord:
    id: int
    name: str
    url: str
    token: str
    subscription: Subscription
    keys: tuple[PeerKeyRecord, ...]
    keys_fetched_at: datetime | None
    cursor: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    next_attempt_at: datetime
    consecutive_failures: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class ChangeRecord:
    seq: int
    model_id: int
    owner: str
    name: str
    version: int | None
    action: ChangeAction


@dataclass(frozen=True)
class MirroredModelRecord:
    """A local model that mirrors `origin_owner/origin_name` of peer `peer`."""

    model_id: int
    peer_id: int
    peer: str
    peer_url: str
    origin_owner: str
    origin_name: str
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class MirroredVersionRecord:
    id: int
    model_id: int
    version: int
    state: MirrorState
    reason: str | None
    detail: str | None
    retryable: bool | None
    attempts: int
    next_attempt_at: datetime | None
    request: dict[str, Any]
    verified_key_id: str | None
