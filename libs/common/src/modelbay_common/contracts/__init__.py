"""Bodies one service answers and another reads, declared once (docs/architecture.md).

A service's internal API answers with these models and its callers parse them, so a field
renamed on one side fails a test instead of turning into a silent `None` on the other.
"""
