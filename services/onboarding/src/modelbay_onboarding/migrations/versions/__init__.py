"""Revisions of the `onboarding` schema, oldest first."""
