"""Alembic environment of the `gateway` schema; the logic is in modelbay_common.migrations."""

from modelbay_common.migrations import run_env

from modelbay_gateway.orm import SCHEMA, Base

run_env(schema=SCHEMA, target_metadata=Base.metadata)
