"""Solutions: documents checked at definition time, stored as solution bundles.

See docs/solutions.md.
"""
