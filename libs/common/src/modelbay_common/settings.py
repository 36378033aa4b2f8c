"""Settings every Modelbay service shares, read from the environment with pydantic-settings.

Each service subclasses :class:`ServiceSettings` with its own prefix::

    class OnboardingSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="MODELBAY_ONBOARDING_")
        http_port: int = 8001

Precedence, highest first:

1. keyword arguments passed to the constructor (the embedded mode builds settings in code);
2. the service's own variables, e.g. ``MODELBAY_ONBOARDING_DATABASE_URL``;
3. the shared variables, e.g. ``MODELBAY_DATABASE_URL`` (one value for every service);
4. the field default.

Nothing is read at import time: call :meth:`ServiceSettings.load` in the app factory.
"""

from __future__ import annotations

from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from modelbay_common.bus.port import EVENTS_EXCHANGE

SHARED_ENV_PREFIX = "MODELBAY_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_DATABASE_SCHEMES = ("postgresql", "postgresql+asyncpg", "postgres")
_BUS_SCHEMES = ("amqp", "amqps", "memory")
_BLOB_SCHEMES = ("s3", "file")


class ConfigurationError(Exception):
    """The environment does not describe a usable configuration; the message says what to set."""


def _require_scheme(value: str, allowed: tuple[str, ...], what: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in allowed:
        raise ValueError(f"{what} must use one of the schemes {', '.join(allowed)}; got {scheme!r}")
    return value


class ServiceSettings(BaseSettings):
    """The fields every service needs. URLs that carry credentials are hidden from ``repr``."""

    model_config = SettingsConfigDict(env_prefix=SHARED_ENV_PREFIX, extra="ignore")

    database_url: str = Field(
        repr=False, description="Postgres URL, e.g. `postgresql+asyncpg://u:p@h/db`"
    )
    bus_url: str = Field(
        repr=False, description="`amqp://user:pass@host:5672/` for RabbitMQ, `memory://` in-process"
    )
    blob_url: str = Field(
        repr=False,
        description="`s3://ACCESS:SECRET@host:port/bucket?secure=false` or `file:///dir`",
    )
    log_level: LogLevel = Field(default="INFO", description="Lowest level logged")
    log_json: bool = Field(
        default=True, description="One JSON object per log line; false for plain text"
    )
    http_host: str = Field(
        default="127.0.0.1", description="Address `python -m modelbay_<service>` listens on"
    )
    http_port: int = Field(
        default=8000, description="Port `python -m modelbay_<service>` listens on"
    )
    http_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A connection whose request head (line and headers) is not complete this "
        "long after it opened or after the previous answer is closed (slowloris)",
    )
    http_keep_alive_seconds: float = Field(
        default=5.0, gt=0, description="An idle keep-alive connection is closed after this long"
    )
    internal_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret the gateway signs internal calls with and the internal "
        "services verify (HMAC, docs/trust.md); the same in every service. Unset: a random "
        "secret per process (right for the embedded mode; separate processes then refuse "
        "each other)",
    )
    events_exchange: str = Field(
        default=EVENTS_EXCHANGE,
        description="RabbitMQ topic exchange every event is published to and consumed from",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("http_port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        # A validator, not Field(ge=, le=): it still applies when a service overrides the default.
        if not 1 <= value <= 65535:
            raise ValueError(f"http_port must be between 1 and 65535, got {value}")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return _require_scheme(value, _DATABASE_SCHEMES, "database_url")

    @field_validator("bus_url")
    @classmethod
    def _check_bus_url(cls, value: str) -> str:
        return _require_scheme(value, _BUS_SCHEMES, "bus_url")

    @field_validator("blob_url")
    @classmethod
    def _check_blob_url(cls, value: str) -> str:
        return _require_scheme(value, _BLOB_SCHEMES, "blob_url")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The shared MODELBAY_* names come right after the service's own prefix, so one
        # environment can configure every service and still override a single one.
        shared_env = EnvSettingsSource(settings_cls, env_prefix=SHARED_ENV_PREFIX)
        return (init_settings, env_settings, shared_env, dotenv_settings, file_secret_settings)

    @classmethod
    def env_names(cls, field: str) -> list[str]:
        """The variables that set ``field``, highest precedence first."""
        own_prefix = str(cls.model_config.get("env_prefix") or "")
        names = [own_prefix + field.upper(), SHARED_ENV_PREFIX + field.upper()]
        return list(dict.fromkeys(names))

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Read the settings, turning a validation failure into a message naming the variables."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigurationError(cls._explain(exc)) from exc

    @classmethod
    def _explain(cls, exc: ValidationError) -> str:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            names = " or ".join(cls.env_names(field)) if field in cls.model_fields else field
            problems.append(f"{names}: {error['msg']}")
        return f"invalid {cls.__name__} configuration: " + "; ".join(problems)
