"""Alembic migrations of the `onboarding` schema.

Apply with `python -m modelbay_common.migrations upgrade onboarding`.
"""
