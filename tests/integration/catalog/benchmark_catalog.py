"""A catalog generated and seeded the benchmark's way (bench/catalog: postings, facet counts
and vocabulary written in bulk), for the search tests that compare with a reference."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from modelbay_catalog.orm import SCHEMA
from modelbay_common.db import SessionFactory, create_engine, session_factory
from modelbay_common.migrations import upgrade

BENCH = Path(__file__).resolve().parents[3] / "bench" / "catalog"


@asynccontextmanager
async def benchmark_seeded(database_url: str, models: int) -> AsyncIterator[SessionFactory]:
    """Sessions on `database_url`, migrated and seeded with `models` generated models."""
    await upgrade(SCHEMA, database_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCH))
        seed = importlib.import_module("catalogbench.seed")
        stack = importlib.import_module("catalogbench.stack")
        await seed.seed(
            stack.plain_dsn(database_url),
            models=models,
            downloads=1_000,
            ratings=500,
            seed_value=9,
        )
    engine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
