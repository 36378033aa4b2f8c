"""Settings of the gateway (prefix ``MODELBAY_GATEWAY_``), read from the environment.

Every field is read from ``MODELBAY_GATEWAY_<FIELD>`` first, then ``MODELBAY_<FIELD>``. Each
field's description is the documentation: the table in docs/services.md is generated from it by
``scripts/gen_settings_docs.py``.
"""

from __future__ import annotations

from modelbay_common.registry_auth import RegistryTokenSettings
from modelbay_common.settings import ServiceSettings
from modelbay_common.signing import SigningSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from modelbay_gateway.webhook_settings import WebhookSettings

SERVICE_NAME = "gateway"
EVENT_SOURCE = "/modelbay/gateway"
GIB = 1024**3
MIN_ADMIN_TOKEN_LENGTH = 24


class GatewaySettings(ServiceSettings, RegistryTokenSettings, SigningSettings, WebhookSettings):
    """Configuration of the gateway; docs/services.md lists the variables."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_GATEWAY_", extra="ignore")

    http_port: int = Field(default=8000, description="Port `python -m modelbay_gateway` listens on")
    onboarding_url: str = Field(
        default="http://127.0.0.1:8001", description="Internal API of the onboarding service"
    )
    catalog_url: str = Field(
        default="http://127.0.0.1:8003", description="Internal API of the catalog"
    )
    builder_url: str = Field(
        default="http://127.0.0.1:8002", description="Internal API of the builder"
    )
    admin_username: str | None = Field(
        default=None, description="Bootstrap administrator, created or updated at start-up"
    )
    admin_token: str | None = Field(
        default=None,
        repr=False,
        description=f"Token of the bootstrap administrator (at least {MIN_ADMIN_TOKEN_LENGTH} "
        "characters), stored hashed like every other token",
    )
    anonymous_read: bool = Field(
        default=False,
        description="Let callers without a token search, read and download public models",
    )
    max_upload_bytes: int = Field(
        default=2 * GIB, gt=0, description="Larger uploads are refused with 413"
    )
    upstream_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Per network operation towards the internal services"
    )
    upstream_max_connections: int = Field(
        default=100,
        ge=1,
        description="Connections to each internal service at once (pushes in flight each hold "
        "one to onboarding; see UPLOAD_MIN_BYTES_PER_SECOND)",
    )
    upstream_lean_reads: bool = Field(
        default=True,
        description="Internal GETs answered whole go through the gateway's lean HTTP/1.1 "
        "transport (read_transport.py) instead of httpx's own; false: httpx's for every call",
    )
    lean_reads: bool = Field(
        default=True,
        description="`GET /v1/models` and `GET /v1/models/{owner}/{name}` skip FastAPI's "
        "routing and parameter solving when nothing about the request is unusual (lean_reads.py); "
        "false: the app answers every request",
    )
    upload_idle_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A push whose body stalls this long is cut off with 408; also the grace "
        "period before UPLOAD_MIN_BYTES_PER_SECOND applies",
    )
    upload_min_bytes_per_second: float = Field(
        default=1024.0,
        ge=0,
        description="A push body arriving slower than this on average (after the grace period) "
        "is cut off with 408, so slow clients cannot hold the connection pool to onboarding",
    )
    auth_failure_limit: int = Field(
        default=10,
        ge=1,
        description="Failed authentications (bearer token, web sign-in, registry token) one "
        "client address may make per window before 429 (in memory, per process)",
    )
    auth_failure_window_seconds: float = Field(
        default=60.0, gt=0, description="The sliding window of AUTH_FAILURE_LIMIT"
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a resolved bearer token or web session is trusted without asking "
        "the database (0: never). Changes made through this process apply at once; this bounds "
        "how late another gateway process sees a revocation or a role change",
    )
    auth_cache_entries: int = Field(
        default=4096, ge=1, description="Resolved tokens kept at most (least recently used go)"
    )
    consumer_name: str = Field(
        default="gateway.sse",
        description="Queue of the events fanned out to `GET /v1/events`; every replica must see "
        "every event, so give each its own (`gateway.sse.replica-2`)",
    )
    dead_letter_consumers: list[str] = Field(
        default=[
            "onboarding.resolver",
            "builder.builds",
            "catalog.versions",
            "builder.mirrors",  # federation: the copies (docs/federation.md)
            "catalog.mirrors",  # federation: the builder's answers
        ],
        description="Consumers whose dead-letter queues `modelbay admin dlq` lists and replays "
        "(JSON list; the gateway's own `consumer_name` is always added)",
    )
    sse_keepalive_seconds: float = Field(
        default=15.0, gt=0, description="Comment lines keep idle proxies from closing streams"
    )
    sse_replay_events: int = Field(
        default=1000, ge=0, description="Recent events kept to resume after `Last-Event-ID`"
    )
    visibility_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long the SSE filter trusts a model's visibility"
    )
    outbox_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the outbox relay (organisation events) looks when no NOTIFY woke it",
    )
    gc_interval_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="How often the artifact garbage collector sweeps (0: only `modelbay admin gc`)",
    )
    gc_grace_seconds: int = Field(
        default=86400,
        ge=0,
        description="The collector never reclaims an artifact written less than this long ago",
    )

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(
                f"the admin token must have at least {MIN_ADMIN_TOKEN_LENGTH} characters "
                "(generate one with `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
            )
        return value

    @field_validator("onboarding_url", "catalog_url", "builder_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
