"""Alembic migrations of the `builder` schema.

Apply with `python -m modelbay_common.migrations upgrade builder`.
"""
