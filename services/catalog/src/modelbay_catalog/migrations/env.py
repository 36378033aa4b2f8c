"""Alembic environment of the `catalog` schema; the logic is in modelbay_common.migrations.

When the service gets ORM models, pass their metadata here so `revision --autogenerate` works.
"""

from modelbay_common.migrations import run_env

run_env(schema="catalog", target_metadata=None)
