"""Revisions of the `gateway` schema, oldest first."""
