"""The build log: lines from docker, kept bounded, readable while the build runs."""

from __future__ import annotations

import threading
from collections import deque


class BuildLog:
    """Thread-safe, bounded log; docker streams arrive in chunks that may split lines."""

    def __init__(self, max_lines: int = 2000) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            pieces = (self._partial + text).split("\n")
            self._partial = pieces.pop()
            self._lines.extend(piece.rstrip("\r") for piece in pieces)

    def line(self, text: str) -> None:
        self.write(text.rstrip("\n") + "\n")

    def tail(self, count: int) -> str:
        with self._lock:
            lines = list(self._lines)
            if self._partial:
                lines.append(self._partial)
        return "\n".join(lines[-count:])
