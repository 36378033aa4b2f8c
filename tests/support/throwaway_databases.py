"""Throw-away Postgres databases for tests that need a database of their own."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


@contextlib.asynccontextmanager
async def temporary_database(postgres_url: str, prefix: str = "test") -> AsyncIterator[str]:
    """Create a uniquely named database, yield its URL (same driver as `postgres_url`), drop it."""
    import asyncpg  # imported here so unit tests never need a database driver loaded

    parts = urlsplit(postgres_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_dsn = f"postgresql://{parts.netloc}{parts.path}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
