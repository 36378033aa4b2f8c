"""The embedded-mode PostgreSQL: start, query through SQLAlchemy async, stop, restart, data kept."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from modelbay_common.embedded_pg import EmbeddedPostgres
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """A fresh directory outside pytest's tmp_path: as root the server runs as another user,
    and every pytest session (colleagues run theirs in parallel) resets /tmp/pytest-of-root to
    mode 0700, which would lock that user out of the data directory mid-test."""
    root = Path(tempfile.mkdtemp(prefix="modelbay-embedded-pg-test-"))
    yield root / "postgres"
    shutil.rmtree(root, ignore_errors=True)


async def _query(url: str, *statements: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            results = [await connection.execute(text(statement)) for statement in statements]
            return [row for row in results[-1].scalars()]
    finally:
        await engine.dispose()


async def test_data_survives_a_restart_on_the_same_data_directory(pg_root: Path) -> None:
    server = EmbeddedPostgres(pg_root)
    try:
        url = await asyncio.to_thread(server.start)
        assert url.startswith("postgresql+asyncpg://modelbay:")
        assert "@127.0.0.1:" in url
        assert url.endswith("/modelbay")
        await _query(
            url,
            "CREATE TABLE notes (body text NOT NULL)",
            "INSERT INTO notes VALUES ('kept across restarts')",
            "SELECT body FROM notes",
        )
        await asyncio.to_thread(server.stop)
        assert not server.is_running()

        restarted = EmbeddedPostgres(pg_root)
        url_again = await asyncio.to_thread(restarted.start)
        assert await _query(url_again, "SELECT body FROM notes") == ["kept across restarts"]
        assert await _query(url_again, "SHOW server_version_num") != []
    finally:
        await asyncio.to_thread(server.stop)


async def test_running_server_is_adopted_and_requires_the_password(pg_root: Path) -> None:
    import asyncpg

    first = EmbeddedPostgres(pg_root)
    try:
        url = await asyncio.to_thread(first.start)
        second = EmbeddedPostgres(pg_root)

        assert await asyncio.to_thread(second.start) == url
        assert await _query(url, "SELECT current_user") == ["modelbay"]
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(
                host="127.0.0.1", port=first.port, user="modelbay", password="wrong",
                database="modelbay",
            )  # fmt: skip
    finally:
        await asyncio.to_thread(first.stop)
    assert not first.is_running()
