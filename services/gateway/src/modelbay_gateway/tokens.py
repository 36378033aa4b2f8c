"""API token secrets: generation and the one-way hash that is all the database ever sees.

A token is ``mb_`` + 43 URL-safe characters (256 bits from ``secrets``). Because it has that much
entropy, a single fast SHA-256 is enough (a slow password hash only helps against guessable
secrets); looking a token up by its hash also keeps the comparison out of Python.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "mb_"
DISPLAY_PREFIX_LENGTH = 8


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """What a listing shows of a token: enough to recognise it, useless to an attacker."""
    return token[:DISPLAY_PREFIX_LENGTH]
