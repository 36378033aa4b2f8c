"""Content negotiation between JSON and protobuf bodies.

The request encoding comes from Content-Type (415 for anything else); the response encoding
from Accept, preferring the request's own encoding on ties (so a client that sends protobuf and
says `Accept: */*` gets protobuf back), 406 when Accept allows neither.
"""

from __future__ import annotations

from enum import Enum

from modelbay_runtime.server.problem import ProblemError

JSON = "application/json"
X_PROTOBUF = "application/x-protobuf"
PROTOBUF_MEDIA_TYPES = (X_PROTOBUF, "application/vnd.google.protobuf", "application/protobuf")


class Encoding(Enum):
    JSON = "json"
    PROTOBUF = "protobuf"


def request_encoding(content_type: str | None) -> tuple[Encoding, str]:
    """The encoding of a request body and the exact media type the client used."""
    if content_type is None or not content_type.strip():
        return Encoding.JSON, JSON  # lenient: a bare `curl --data-binary` sends none
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == JSON:
        return Encoding.JSON, JSON
    if media_type in PROTOBUF_MEDIA_TYPES:
        return Encoding.PROTOBUF, media_type
    raise ProblemError(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"Content-Type {media_type!r} is not supported; send {JSON} or {X_PROTOBUF}.",
    )


def response_encoding(accept: str | None, request: tuple[Encoding, str]) -> tuple[Encoding, str]:
    """Pick the response encoding from Accept; `request` is what request_encoding returned."""
    if accept is None or not accept.strip():
        return request
    candidates = [request, *(c for c in _ALL if c[0] is not request[0])]
    if request[0] is Encoding.PROTOBUF:
        # A client that sent one protobuf alias may accept another; answer with what it accepts.
        candidates = [request, *((Encoding.PROTOBUF, m) for m in PROTOBUF_MEDIA_TYPES), _ALL[0]]
    ranges = _parse_accept(accept)
    best: tuple[Encoding, str] | None = None
    best_q = 0.0
    for candidate in candidates:
        q = _quality(candidate[1], ranges)
        if q > best_q:
            best, best_q = candidate, q
    if best is None:
        raise ProblemError(
            406,
            "not-acceptable",
            "Not acceptable",
            f"Accept {accept!r} allows neither {JSON} nor {X_PROTOBUF}.",
        )
    return best


_ALL = ((Encoding.JSON, JSON), (Encoding.PROTOBUF, X_PROTOBUF))


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media_range = pieces[0].lower()
        if not media_range:
            continue
        q = 1.0
        for parameter in pieces[1:]:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((media_range, q))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> float:
    """RFC 9110: the most specific matching range decides the quality."""
    kind = media_type.split("/", 1)[0]
    best_specificity = -1
    quality = 0.0
    for media_range, q in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality
