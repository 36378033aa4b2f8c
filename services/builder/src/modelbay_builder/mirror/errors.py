"""Why a mirror ends without a copy: one exception, its sentence and whether retrying may help.

`MirrorFailure.reason` becomes `MirrorFailed.reason` as is, so each one is a sentence a person
on instance B can act on. `retryable` is the contract's rule: the network or a 5xx of the
origin may pass by itself (the catalog's sync loop retries with back-off); a signature or digest
that does not verify will not, and neither will a refused peer token.
"""

from __future__ import annotations


class MirrorFailure(Exception):
    """The mirror stopped; nothing it verified later was stored (see `copy.py` for the order)."""

    def __init__(self, reason: str, *, retryable: bool, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.detail = detail


def refused(reason: str, detail: str | None = None) -> MirrorFailure:
    """A failure retrying cannot fix: a signature, a digest, a size, a refused token."""
    return MirrorFailure(reason, retryable=False, detail=detail)


def unavailable(reason: str, detail: str | None = None) -> MirrorFailure:
    """A failure that may pass: the origin, our catalog or our registry unreachable, or 5xx."""
    return MirrorFailure(reason, retryable=True, detail=detail)


def from_status(what: str, status: int, body: str = "") -> MirrorFailure:
    """An HTTP answer that is not a success: 5xx and 429 may pass, the rest will not."""
    detail = body[:300] or None
    if status >= 500 or status == 429:
        return unavailable(f"{what} answered HTTP {status}.", detail)
    return refused(f"{what} answered HTTP {status}.", detail)


def registry_failure(what: str, status: int, body: str = "") -> MirrorFailure:
    """A registry's answer: like `from_status`, but 401 may pass too (a pull token that expired
    during a long copy; the next attempt gets a new one)."""
    if status == 401:
        return unavailable(f"{what} answered HTTP 401 (the token expired or was not granted).")
    return from_status(what, status, body)
