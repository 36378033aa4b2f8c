"""Ratings with reviews, threaded comments per version, favourites and view counts.

`rules.py` holds the pure rules (the rating tally, who may change a comment, how a thread is
shown), `store.py` the queries, `service.py` the use cases (each state change emits its event
in the same transaction), `api.py` the internal routes. docs/catalog.md, "Community".
"""
