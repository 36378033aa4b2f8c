"""Alembic migrations of the `catalog` schema.

Apply with `python -m modelbay_common.migrations upgrade catalog`.
"""
