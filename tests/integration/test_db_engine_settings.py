"""The services' engine (`modelbay_common.db.create_engine`) on a real PostgreSQL: JIT
compilation off on every connection it opens (a millisecond statement the planner estimated
expensive spent up to 1.4 s compiling itself per execution), and its application name set."""

from __future__ import annotations

from modelbay_common.db import create_engine, session_factory
from sqlalchemy import text


async def test_connections_run_without_jit_and_name_their_application(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=2, application_name="modelbay-jit-test")
    try:
        async with session_factory(engine)() as session:
            assert await session.scalar(text("SHOW jit")) == "off"
            name = await session.scalar(text("SHOW application_name"))
            assert name == "modelbay-jit-test"
    finally:
        await engine.dispose()
