"""Seed a migrated catalog schema with generated models, versions, downloads and ratings.

Fast the way bulk loads are: the secondary indexes are dropped, rows go in with binary COPY,
the search documents are computed in one UPDATE with the catalog's own expression
(`store.search_document`), the indexes are rebuilt once, and the typo vocabulary is filled with
the catalog's own word expression (`store.vocabulary_words`), whose insert makes their deletion
variants (migration 0019's trigger, one statement). The search postings (migration
0017) are written in one INSERT … SELECT with the trigger's own score function, their primary key
and word index built afterwards; so are the facet counts of public models (migration 0018, its
own fill function). Then ANALYZE (and VACUUM of the postings, the facet counts and the deletion
variants, whose indexes are read index-only: that needs the visibility map).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
from modelbay_catalog.orm import ModelRow, ModelSearchRow, SearchPostingRow, SearchWordRow
from modelbay_catalog.store import (
    MAX_VOCABULARY_WORD,
    MIN_VOCABULARY_WORD,
    search_document,
    vocabulary_words,
)
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement

from catalogbench import generate

SCHEMA = "catalog"
SEARCH_SYNC = "model_search_sync"  # the trigger that keeps `model_search` in step (0016)
POSTINGS_SYNC = "search_postings_sync"  # the trigger on `model_search` writing postings (0017)
POSTINGS = "search_postings"
FACETS_SYNC = "search_facet_counts_sync"  # the trigger on `model_search` counting facets (0018)
FACETS = "search_facet_counts"
# The vocabulary's deletion variants, written by the trigger on `search_words` (0019) when
# _fill_vocabulary adds the words, read index-only by the typo lookup.
WORD_DELETES = "search_word_deletes"
LOADED_TABLES = (
    f"'models', 'versions', 'ratings', 'download_counts', 'model_search', '{POSTINGS}', '{FACETS}'"
)
# The tables whose primary key is dropped during the load too (nothing refers to them).
REBUILT_KEYS = f"'{POSTINGS}', '{FACETS}'"


@dataclass
class SeedReport:
    models: int = 0
    versions: int = 0
    download_rows: int = 0
    downloads: int = 0
    ratings: int = 0
    vocabulary: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def compiled(statement: ClauseElement) -> str:
    """The statement as PostgreSQL text, values inlined (it is sent once, not prepared)."""
    dialect: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


class Timer:
    def __init__(self, report: SeedReport) -> None:
        self.report, self.started = report, time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.report.seconds[name] = round(now - self.started, 2)
        self.started = now


async def seed(
    dsn: str, *, models: int, downloads: int, ratings: int, seed_value: int
) -> SeedReport:
    """Fill the (migrated, empty) catalog schema of `dsn` (a plain postgresql:// DSN)."""
    report = SeedReport()
    timer = Timer(report)
    rows = list(generate.models(seed_value, models))
    popularity = generate.popularity(seed_value, models)
    download_counts = generate.downloads(seed_value, popularity, downloads)
    rating_rows = list(generate.ratings(seed_value, popularity, ratings, raters=200_000))
    timer.lap("generate")
    connection = await asyncpg.connect(dsn)
    try:
        constraints = await _drop_constraints(connection)
        dropped = await _drop_secondary_indexes(connection)
        # The narrow search copy is filled once below, not row by row by its trigger.
        await connection.execute(f"ALTER TABLE {SCHEMA}.models DISABLE TRIGGER {SEARCH_SYNC}")
        for trigger in (POSTINGS_SYNC, FACETS_SYNC):
            await connection.execute(f"ALTER TABLE {SCHEMA}.model_search DISABLE TRIGGER {trigger}")
        timer.lap("drop indexes")
        totals = _model_totals(download_counts, rating_rows)
        version_ids = await _copy_models_and_versions(connection, rows, totals, report)
        await _copy_downloads(connection, download_counts, version_ids, report)
        await _copy_ratings(connection, rating_rows, report)
        timer.lap("copy")
        await connection.execute(compiled(update(ModelRow).values(search_vector=search_document())))
        # The UPDATE left every row twice; a compact table is what a catalog built up over time
        # (and vacuumed) reads, and a bloated one would make every scan look slower.
        await connection.execute(f"VACUUM FULL {SCHEMA}.models")
        await connection.execute(compiled(_fill_search_copy()))
        timer.lap("search documents")
        await connection.execute(_fill_postings())
        timer.lap("postings")
        # The trigger's counts of every public model at once (migration 0018's function).
        await connection.execute(f"SELECT {SCHEMA}.search_facet_counts_fill()")
        timer.lap("facet counts")
        for definition in dropped:
            await connection.execute(definition)
        for table, name, definition in constraints:
            await connection.execute(
                f"ALTER TABLE {SCHEMA}.{table} ADD CONSTRAINT {name} {definition}"
            )
        timer.lap("rebuild indexes")
        report.vocabulary = await _fill_vocabulary(connection)
        timer.lap("vocabulary")
        await connection.execute(f"ANALYZE {SCHEMA}.models, {SCHEMA}.versions")
        await connection.execute(f"ANALYZE {SCHEMA}.ratings, {SCHEMA}.download_counts")
        await connection.execute(f"ANALYZE {SCHEMA}.search_words, {SCHEMA}.model_search")
        await connection.execute(
            f"VACUUM (ANALYZE) {SCHEMA}.{POSTINGS}, {SCHEMA}.{FACETS}, {SCHEMA}.{WORD_DELETES}"
        )
        timer.lap("analyze")
    finally:
        await connection.execute(f"ALTER TABLE {SCHEMA}.models ENABLE TRIGGER {SEARCH_SYNC}")
        for trigger in (POSTINGS_SYNC, FACETS_SYNC):
            await connection.execute(f"ALTER TABLE {SCHEMA}.model_search ENABLE TRIGGER {trigger}")
        await connection.close()
    return report


def _fill_search_copy() -> ClauseElement:
    """What the trigger `model_search_sync` would have written for every model (migration
    0016), in one statement."""
    copied = [column.name for column in ModelSearchRow.__table__.columns]
    source = [ModelRow.id if name == "model_id" else getattr(ModelRow, name) for name in copied]
    return insert(ModelSearchRow).from_select(
        copied, select(*source).where(ModelRow.deleted_at.is_(None))
    )


def _fill_postings() -> str:
    """What the trigger `search_postings_sync` would have written for every `model_search` row
    (migration 0017), in one statement: a row per lexeme, scored by the same SQL function."""
    copied = [
        column.name
        for column in SearchPostingRow.__table__.columns
        if column.name not in ("word", "model_id", "score")
    ]
    return (
        f"INSERT INTO {SCHEMA}.{POSTINGS} (word, model_id, score, {', '.join(copied)}) "
        f"SELECT l.lexeme, s.model_id, {SCHEMA}.search_posting_score(l.weights), "
        + ", ".join(f"s.{name}" for name in copied)
        + f" FROM {SCHEMA}.model_search AS s CROSS JOIN LATERAL unnest(s.search_vector) AS l"
    )


async def _drop_constraints(connection: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """Drop the unique and foreign-key constraints of the loaded tables, and the postings' and
    the facet counts' primary keys (nothing refers to them), checked once when they are added
    back instead of row by row; their definitions, to add them again."""
    found = await connection.fetch(
        f"""
        SELECT t.relname AS table_name, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
        FROM pg_constraint AS c JOIN pg_class AS t ON t.oid = c.conrelid
        JOIN pg_namespace AS n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname IN ({LOADED_TABLES})
          AND (c.contype IN ('u', 'f') OR (c.contype = 'p' AND t.relname IN ({REBUILT_KEYS})))
        ORDER BY c.contype DESC
        """,
        SCHEMA,
    )
    for row in found:
        await connection.execute(
            f"ALTER TABLE {SCHEMA}.{row['table_name']} DROP CONSTRAINT {row['name']}"
        )
    # Added back in the reverse order: foreign keys, then the rebuilt primary keys, then unique
    # constraints (independent here).
    return [(str(r["table_name"]), str(r["name"]), str(r["definition"])) for r in reversed(found)]


@dataclass
class ModelTotals:
    downloads: int = 0
    ratings: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])


def _model_totals(
    counts: dict[tuple[int, str], int], ratings: list[tuple[int, str, int]]
) -> dict[int, ModelTotals]:
    """The counters the catalog keeps on the model row, from the rows about to be loaded."""
    totals: dict[int, ModelTotals] = {}
    for (model_id, _), count in counts.items():
        totals.setdefault(model_id, ModelTotals()).downloads += count
    for model_id, _, stars in ratings:
        totals.setdefault(model_id, ModelTotals()).ratings[stars - 1] += 1
    return totals


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[str]:
    """Drop every index that backs no constraint; their definitions, to create them again."""
    found = await connection.fetch(
        f"""
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index AS i JOIN pg_class AS t ON t.oid = i.indrelid
        JOIN pg_namespace AS n ON n.oid = t.relnamespace
        WHERE n.nspname = $1 AND t.relname IN ({LOADED_TABLES})
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
        """,
        SCHEMA,
    )
    for row in found:
        await connection.execute(f"DROP INDEX {row['name']}")
    return [str(row["definition"]) for row in found]


async def _copy_models_and_versions(
    connection: asyncpg.Connection,
    rows: list[generate.ModelSeed],
    totals: dict[int, ModelTotals],
    report: SeedReport,
) -> dict[int, list[int]]:
    empty = ModelTotals()
    model_records = [
        (
            row.id,
            row.owner,
            row.name,
            row.owner_org,
            row.visibility,
            row.description,
            row.category,
            row.license,
            row.tags,
            row.versions,
            row.latest_status,
            row.libraries,
            row.interface_terms,
            row.versions if row.visibility == "public" else None,
            row.created_at if row.visibility == "public" else None,
            row.owner if row.visibility == "public" else None,
            row.created_at,
            row.created_at,
            (found := totals.get(row.id, empty)).downloads,
            sum(found.ratings),
            sum(stars * n for stars, n in enumerate(found.ratings, start=1)),
            found.ratings,
        )
        for row in rows
    ]
    await connection.copy_records_to_table(
        "models",
        schema_name=SCHEMA,
        records=model_records,
        columns=[
            "id", "owner", "name", "owner_org", "visibility", "description", "category",
            "license", "tags", "latest_version", "latest_status", "libraries", "interface_terms",
            "published_version", "published_at", "published_by", "created_at", "updated_at",
            "downloads", "rating_count", "rating_total", "rating_histogram",
        ],
    )  # fmt: skip
    version_ids: dict[int, list[int]] = {}
    version_records = list(_versions(rows, version_ids))
    await connection.copy_records_to_table(
        "versions",
        schema_name=SCHEMA,
        records=version_records,
        columns=[
            "id", "model_id", "version", "status", "requirements", "methods", "interface",
            "uploaded_by", "description", "license", "python_version", "image_ref",
            "image_digest", "uploaded_at", "finished_at", "created_at", "updated_at",
        ],
    )  # fmt: skip
    for table in ("models", "versions"):
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{SCHEMA}.{table}', 'id'), "
            f"(SELECT max(id) FROM {SCHEMA}.{table}))"
        )
    report.models, report.versions = len(model_records), len(version_records)
    return version_ids


def _versions(
    rows: list[generate.ModelSeed], version_ids: dict[int, list[int]]
) -> Iterator[tuple[object, ...]]:
    next_id = 1
    for row in rows:
        interface = json.dumps(
            [
                {
                    "name": method,
                    "input_message": f"{method.title()}In",
                    "output_message": f"{method.title()}Out",
                    "inputs": [{"name": name, "type": "float"} for name in row.fields],
                    "outputs": [{"name": name, "type": "str"} for name in row.outputs],
                }
                for method in row.methods
            ]
        )
        for number in range(1, row.versions + 1):
            newest = number == row.versions
            status = row.latest_status if newest else "ready"
            ready = status == "ready"
            image = f"registry.example/{row.owner}/{row.name}:{number}"
            yield (
                next_id,
                row.id,
                number,
                status,
                [f"{library}==1.0.{number}" for library in row.libraries],
                row.methods,
                interface,
                row.owner,
                row.description,
                row.license,
                "3.11.7",
                image if ready else None,
                "sha256:" + f"{next_id:064x}" if ready else None,
                row.created_at,
                row.created_at if status in ("ready", "failed") else None,
                row.created_at,
                row.created_at,
            )
            version_ids.setdefault(row.id, []).append(next_id)
            next_id += 1


async def _copy_downloads(
    connection: asyncpg.Connection,
    counts: dict[tuple[int, str], int],
    version_ids: dict[int, list[int]],
    report: SeedReport,
) -> None:
    """Every download is counted against the model's newest version."""
    records = [(version_ids[model_id][-1], kind, n) for (model_id, kind), n in counts.items()]
    await connection.copy_records_to_table(
        "download_counts",
        schema_name=SCHEMA,
        records=records,
        columns=["version_id", "kind", "count"],
    )
    report.download_rows, report.downloads = len(records), sum(counts.values())


async def _copy_ratings(
    connection: asyncpg.Connection, rows: list[tuple[int, str, int]], report: SeedReport
) -> None:
    await connection.copy_records_to_table(
        "ratings",
        schema_name=SCHEMA,
        records=rows,
        columns=["model_id", "username", "stars"],
    )
    report.ratings = len(rows)


async def _fill_vocabulary(connection: asyncpg.Connection) -> int:
    word = func.unnest(vocabulary_words()).label("word")
    words = select(word).select_from(ModelRow.__table__).subquery()
    chosen = (
        select(words.c.word)
        .distinct()
        .where(func.length(words.c.word).between(MIN_VOCABULARY_WORD, MAX_VOCABULARY_WORD))
    )
    statement = insert(SearchWordRow).from_select(["word"], chosen)
    await connection.execute(compiled(statement) + " ON CONFLICT DO NOTHING")
    return int(await connection.fetchval(f"SELECT count(*) FROM {SCHEMA}.search_words"))
