"""Alembic environment of the `onboarding` schema; the logic is in modelbay_common.migrations."""

from modelbay_common.migrations import run_env

from modelbay_onboarding.orm import Base

run_env(schema="onboarding", target_metadata=Base.metadata)
