"""Alembic environment of the `onboarding` schema; the logic is in modelbay_common.migrations.

When the service gets ORM models, pass their metadata here so `revision --autogenerate` works.
"""

from modelbay_common.migrations import run_env

run_env(schema="onboarding", target_metadata=None)
