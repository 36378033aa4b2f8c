"""Settings of the gateway (prefix ``MODELBAY_GATEWAY_``), read from the environment.

Every field is read from ``MODELBAY_GATEWAY_<FIELD>`` first, then ``MODELBAY_<FIELD>``:

- ``DATABASE_URL`` (required): Postgres; the gateway owns the ``gateway`` schema (users, tokens)
  and migrates it at start-up.
- ``BUS_URL`` (required): ``amqp://...`` (RabbitMQ) or ``memory://``; the gateway consumes every
  lifecycle event to fan it out to ``GET /v1/events`` (Server-Sent Events).
- ``BLOB_URL`` (required): ``s3://...`` or ``file:///dir``; downloads stream from it.
- ``HTTP_HOST`` / ``HTTP_PORT``: where ``python -m modelbay_gateway`` listens (127.0.0.1:8000).
- ``LOG_LEVEL`` / ``LOG_JSON``: logging.
- ``ONBOARDING_URL`` / ``CATALOG_URL`` / ``BUILDER_URL``: the internal APIs
  (``http://127.0.0.1:8001``, ``:8003``, ``:8002``).
- ``ADMIN_USERNAME`` / ``ADMIN_TOKEN``: the bootstrap administrator, created (or updated) at
  start-up; the token (at least 24 characters) is stored hashed like every other token.
- ``ANONYMOUS_READ`` (false): let callers without a token search, read and download public models.
- ``MAX_UPLOAD_BYTES`` (2 GiB): larger uploads are refused with 413 before or while streaming.
- ``UPSTREAM_TIMEOUT_SECONDS`` (60): per network operation towards the internal services.
- ``CONSUMER_NAME`` (``gateway.sse``): the queue of events for SSE. Every gateway replica must see
  every event, so give each replica its own name (e.g. ``gateway.sse.replica-2``).
- ``EVENTS_EXCHANGE`` (``modelbay.events``).
- ``SSE_KEEPALIVE_SECONDS`` (15): comment lines that keep idle proxies from closing the stream.
- ``SSE_REPLAY_EVENTS`` (1000): recent events kept to resume a stream after ``Last-Event-ID``.
- ``VISIBILITY_CACHE_SECONDS`` (5): how long the SSE filter trusts a model's visibility.
"""

from __future__ import annotations

from modelbay_common.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

SERVICE_NAME = "gateway"
GIB = 1024**3
MIN_ADMIN_TOKEN_LENGTH = 24


class GatewaySettings(ServiceSettings):
    """Configuration of the gateway; see the module docstring for the variable names."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_GATEWAY_", extra="ignore")

    http_port: int = 8000
    onboarding_url: str = "http://127.0.0.1:8001"
    catalog_url: str = "http://127.0.0.1:8003"
    builder_url: str = "http://127.0.0.1:8002"
    admin_username: str | None = None
    admin_token: str | None = Field(default=None, repr=False)
    anonymous_read: bool = False
    max_upload_bytes: int = Field(default=2 * GIB, gt=0)
    upstream_timeout_seconds: float = Field(default=60.0, gt=0)
    consumer_name: str = "gateway.sse"
    events_exchange: str = "modelbay.events"
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    sse_replay_events: int = Field(default=1000, ge=0)
    visibility_cache_seconds: float = Field(default=5.0, ge=0)

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
