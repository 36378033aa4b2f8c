"""Alembic migrations of the `gateway` schema.

Apply with `python -m modelbay_common.migrations upgrade gateway`.
"""
