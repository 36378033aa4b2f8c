"""Alembic migrations per service: one schema each, with its own version table inside it.

Each service keeps its revisions in `<its package>/migrations/versions/`; its `env.py` is two
lines that call `run_env`. Alembic owns every DDL statement: services never `create_all`.

This module names no service: a `MigrationSource(schema, package)` says where a schema's
revisions live. Callers pass one, or a schema name that a service registered in the
`modelbay.migrations` entry point group (`catalog = "modelbay_catalog.migrations"` in its
pyproject.toml); the command line and `upgrade_all` use the registered ones.

    python -m modelbay_common.migrations upgrade onboarding            # or: upgrade all
    python -m modelbay_common.migrations downgrade onboarding base
    python -m modelbay_common.migrations current onboarding
    python -m modelbay_common.migrations revision catalog -m "add models table" [--autogenerate]

The database URL comes from `--database-url` or MODELBAY_DATABASE_URL. From Python (e.g. a
service lifespan or the embedded mode), `await upgrade("catalog", url)` or
`await upgrade(MigrationSource("catalog", "modelbay_catalog"), url)`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from modelbay_common.db import asyncpg_url
from modelbay_common.inbox import inbox_table
from modelbay_common.outbox import outbox_table

__all__ = [
    "ENTRY_POINT_GROUP",
    "MigrationSource",
    "alembic_config",
    "create_messaging_tables_v1",
    "current",
    "downgrade",
    "drop_messaging_tables_v1",
    "registered_sources",
    "run_env",
    "upgrade",
    "upgrade_all",
]

ENTRY_POINT_GROUP = "modelbay.migrations"
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PACKAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class MigrationSource:
    """One schema and the package whose `migrations/` directory holds its revisions."""

    schema: str
    package: str  # e.g. "modelbay_catalog": revisions in modelbay_catalog/migrations/versions/

    def __post_init__(self) -> None:
        # The schema is quoted into DDL and the package into Alembic's resource path.
        if not _SCHEMA_NAME.match(self.schema):
            raise ValueError(f"invalid schema name {self.schema!r}")
        if not _PACKAGE_NAME.match(self.package):
            raise ValueError(f"invalid package name {self.package!r}")

    @property
    def script_location(self) -> str:
        # A package resource path, so it works from a wheel as well as from the source tree.
        return f"{self.package}:migrations"


def registered_sources() -> dict[str, MigrationSource]:
    """Every schema a service registered (entry point `<schema> = "<package>.migrations"`)."""
    found: dict[str, MigrationSource] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        package, _, leaf = entry.value.partition(":")[0].rpartition(".")
        if leaf != "migrations" or not package:
            raise ValueError(
                f"entry point {entry.name} = {entry.value!r} in {ENTRY_POINT_GROUP}: "
                "expected '<package>.migrations'"
            )
        found[entry.name] = MigrationSource(entry.name, package)
    return dict(sorted(found.items()))


def _source(source: MigrationSource | str) -> MigrationSource:
    if isinstance(source, MigrationSource):
        return source
    registered = registered_sources()
    if source not in registered:
        known = ", ".join(registered) or "none"
        raise ValueError(
            f"no migrations registered for schema {source!r} (registered: {known}); install "
            f"the service that owns it (it declares the {ENTRY_POINT_GROUP} entry point)"
        )
    return registered[source]


def alembic_config(source: MigrationSource | str, database_url: str | None = None) -> Config:
    """Programmatic Alembic config of one schema (no alembic.ini: the package is the config)."""
    resolved = _source(source)
    config = Config()
    config.set_main_option("script_location", resolved.script_location)
    config.set_main_option("file_template", "rev%%(rev)s_%%(slug)s")
    if database_url is not None:
        config.set_main_option("sqlalchemy.url", asyncpg_url(database_url).replace("%", "%%"))
    config.attributes["schema"] = resolved.schema
    _format_new_revisions_with_ruff(config)
    return config


def _format_new_revisions_with_ruff(config: Config) -> None:
    """New revision files come out lint-clean and formatted (ruff is a dev dependency only)."""
    if importlib.util.find_spec("ruff") is None:
        return
    config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
    for hook, options in (("ruff_fix", "check --fix"), ("ruff_format", "format")):
        config.set_section_option("post_write_hooks", f"{hook}.type", "module")
        config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
        config.set_section_option(
            "post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME"
        )


def run_env(schema: str, target_metadata: sa.MetaData | None = None) -> None:
    """The body of every service's env.py: migrate `schema`, version table inside it.

    Online runs get their connection from `upgrade`/`downgrade` (config.attributes), which
    run inside the caller's event loop; offline runs (`--sql`) only render SQL. Autogenerate
    compares against the service's tables plus the schema's outbox and inbox, so it never
    proposes dropping them and no service has to remember to.
    """
    options: dict[str, Any] = {
        "target_metadata": _with_messaging_tables(schema, target_metadata),
        "version_table": VERSION_TABLE,
        "version_table_schema": schema,
        "include_schemas": True,
        "include_name": _only_schema(schema),
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run migrations through modelbay_common.migrations (Python API or "
            "`python -m modelbay_common.migrations`), which supplies the connection"
        )
    # Replicas starting together must not migrate the same schema concurrently.
    connection.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"modelbay.migrations.{schema}"},
    )
    # The version table lives in the schema, so the schema must exist before Alembic looks.
    connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def _with_messaging_tables(schema: str, metadata: sa.MetaData | None) -> sa.MetaData | None:
    """A copy of the service's metadata with its outbox and inbox; the ORM's stays untouched."""
    if metadata is None:
        return None
    combined = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(combined)
    if f"{schema}.outbox" not in combined.tables:
        outbox_table(schema, combined)
        inbox_table(schema, combined)
    return combined


def _only_schema(schema: str) -> Callable[[str | None, str, Any], bool]:
    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return name == schema if type_ == "schema" else True

    return include_name


async def _with_connection(config: Config, database_url: str, action: Callable[[], None]) -> None:
    """Run an Alembic command on one connection, in one transaction (PostgreSQL DDL is
    transactional: a failing revision leaves the schema as it was)."""
    engine = create_async_engine(asyncpg_url(database_url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:

            def run(sync_connection: Connection) -> None:
                config.attributes["connection"] = sync_connection
                action()

            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(source: MigrationSource | str, database_url: str, revision: str = "head") -> None:
    """Upgrade one schema to `revision` (default: the newest)."""
    config = alembic_config(source, database_url)
    await _with_connection(config, database_url, lambda: command.upgrade(config, revision))


async def downgrade(source: MigrationSource | str, database_url: str, revision: str) -> None:
    """Downgrade one schema to `revision` (`base` removes every table it created)."""
    config = alembic_config(source, database_url)
    await _with_connection(config, database_url, lambda: command.downgrade(config, revision))


async def upgrade_all(database_url: str, sources: Iterable[MigrationSource] | None = None) -> None:
    """Upgrade every given schema (default: every registered one) in one database."""
    for source in registered_sources().values() if sources is None else sources:
        await upgrade(source, database_url)


async def current(source: MigrationSource | str, database_url: str) -> str | None:
    """The revision a schema is at, or None when it was never migrated."""
    schema = source.schema if isinstance(source, MigrationSource) else source
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    engine = create_async_engine(asyncpg_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                sa.text("SELECT to_regclass(:table)"), {"table": f"{schema}.{VERSION_TABLE}"}
            )
            if exists is None:
                return None
            version = await connection.scalar(
                sa.text(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}')
            )
            return None if version is None else str(version)
    finally:
        await engine.dispose()


def _next_revision_id(config: Config) -> str:
    return f"{len(list(ScriptDirectory.from_config(config).walk_revisions())) + 1:04d}"


async def new_revision(
    source: MigrationSource | str, message: str, *, database_url: str | None, autogenerate: bool
) -> None:
    """Write a new, numbered revision file into the schema's versions directory."""
    config = alembic_config(source, database_url)
    rev_id = _next_revision_id(config)

    def write() -> None:
        command.revision(config, message=message, autogenerate=autogenerate, rev_id=rev_id)

    if not autogenerate:
        write()
    elif database_url is None:
        raise ValueError("--autogenerate compares with a database: give --database-url")
    else:
        await _with_connection(config, database_url, write)


# -- frozen DDL used by each service's first revision ------------------------------------------
# Revisions must keep producing the same schema forever, so these are versioned and never
# edited: a change to the outbox or inbox shape is a new `..._v2` helper and a new revision.


def create_messaging_tables_v1(schema: str) -> None:
    """Create `<schema>.outbox` and `<schema>.inbox` (see outbox.py and inbox.py)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="outbox_pkey"),
        schema=schema,
    )
    op.create_index(
        "outbox_unpublished_idx",
        "outbox",
        ["created_at"],
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="inbox_pkey"),
        schema=schema,
    )


def drop_messaging_tables_v1(schema: str) -> None:
    op.drop_table("inbox", schema=schema)
    op.drop_index("outbox_unpublished_idx", table_name="outbox", schema=schema)
    op.drop_table("outbox", schema=schema)


# -- command line ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelbay_common.migrations")
    parser.add_argument("--database-url", default=os.environ.get("MODELBAY_DATABASE_URL"))
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upgrade", help="upgrade a registered schema (or 'all')")
    up.add_argument("schema")
    up.add_argument("revision", nargs="?", default="head")
    down = commands.add_parser("downgrade", help="downgrade a registered schema")
    down.add_argument("schema")
    down.add_argument("revision")
    show = commands.add_parser("current", help="print the revision a schema is at")
    show.add_argument("schema")
    revision = commands.add_parser("revision", help="write a new revision file")
    revision.add_argument("schema")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--autogenerate", action="store_true")
    return parser


async def _run_command(args: argparse.Namespace) -> None:
    url: str | None = args.database_url
    if args.command == "revision":
        await new_revision(
            args.schema, args.message, database_url=url, autogenerate=args.autogenerate
        )
        return
    if url is None:
        raise ValueError("set MODELBAY_DATABASE_URL or pass --database-url")
    if args.command == "upgrade" and args.schema == "all":
        await upgrade_all(url)
    elif args.command == "upgrade":
        await upgrade(args.schema, url, args.revision)
    elif args.command == "downgrade":
        await downgrade(args.schema, url, args.revision)
    else:
        print(await current(args.schema, url) or "(not migrated)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_run_command(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
