"""Async SQLAlchemy 2 helpers (asyncpg) shared by every service.

The entrypoint owns the transaction: an API request dependency or an event-handler wrapper
opens `transaction(sessions)`, calls services and stores, and the block commits once at the end
(or rolls back on an exception). Services and stores only `flush()`; they never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.ext.asyncio import (
    create_async_engine as _create_async_engine,
)

__all__ = ["asyncpg_url", "create_engine", "session_factory", "transaction"]

SessionFactory = async_sessionmaker[AsyncSession]


def asyncpg_url(url: str) -> str:
    """`url` with the asyncpg driver: accepts postgres://, postgresql:// and postgresql+asyncpg://."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"Modelbay needs a PostgreSQL database URL, got {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 0,
    echo: bool = False,
    application_name: str = "modelbay",
    autocommit: bool = False,
    generic_plans: bool = False,
) -> AsyncEngine:
    """An async engine on asyncpg; call `await engine.dispose()` at shutdown.

    At most `pool_size` connections, opened on demand and then kept: no overflow, because an
    overflow connection is closed as soon as it is returned while the pool is full, so with
    more requests in flight than `pool_size` every few requests paid a new Postgres backend
    (fork, authentication, catalog caches: docs/decisions.md, "Database pools keep their
    connections"). The cap is the former 5 + 5 overflow.

    JIT compilation is off on these connections: the services' statements take milliseconds,
    and one whose estimated cost passed `jit_above_cost` (the catalog's vocabulary lookup on a
    small catalog, whose cross-joined edit candidates are estimated at ~10^7) spent 0.35-1.4 s
    compiling itself on every execution (docs/decisions.md, "JIT off on the services'
    connections").

    `autocommit`: every statement is its own transaction (no BEGIN/COMMIT round trips, and the
    pre-ping below is one round trip instead of three), for read-only sessions.
    `generic_plans`: a prepared statement is planned once, for any parameter values
    (`plan_cache_mode = force_generic_plan`), instead of re-planned at each execution when
    PostgreSQL's estimates favour a custom plan: for statements whose planning costs more than
    their execution (the catalog's search: docs/decisions.md, "The catalog's reads plan once").
    Only for statements whose plans were checked not to depend on parameter values."""
    server_settings = {"application_name": application_name, "jit": "off"}
    if generic_plans:
        server_settings["plan_cache_mode"] = "force_generic_plan"
    return _create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection PostgreSQL dropped (restart, idle timeout) is replaced, not handed out.
        pool_pre_ping=True,
        echo=echo,
        connect_args={"server_settings": server_settings},
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


def session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions whose objects stay readable after commit (no lazy reload in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    async with sessions() as session, session.begin():
        yield session
