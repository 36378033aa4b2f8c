"""Alembic environment of the `builder` schema; the logic is in modelbay_common.migrations."""

from modelbay_common.inbox import inbox_table
from modelbay_common.migrations import run_env
from modelbay_common.outbox import outbox_table

from modelbay_builder.models import SCHEMA, Base

# The messaging tables belong to the schema too, or autogenerate would propose dropping them.
# env.py runs once per migration command in the same process: add them only once.
if f"{SCHEMA}.outbox" not in Base.metadata.tables:
    outbox_table(SCHEMA, Base.metadata)
    inbox_table(SCHEMA, Base.metadata)
run_env(schema=SCHEMA, target_metadata=Base.metadata)
