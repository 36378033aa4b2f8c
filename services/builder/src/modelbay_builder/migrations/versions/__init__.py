"""Revisions of the `builder` schema, oldest first."""
