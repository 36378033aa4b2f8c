"""The benchmark's models: an instant step, a 5 ms step and a merge, all on one message
`Signal` so steps chain directly (no mapping step) and the merge takes two of them."""

from __future__ import annotations

import time
from typing import NamedTuple

from modelbay import Model

SLOW_SECONDS = 0.005


class Signal(NamedTuple):
    x: float


class Pair(NamedTuple):
    a: float
    b: float


def instant(signal: Signal) -> Signal:
    return Signal(signal.x)


def slow(signal: Signal) -> Signal:
    time.sleep(SLOW_SECONDS)
    return Signal(signal.x)


def merge(pair: Pair) -> Signal:
    return Signal(pair.a + pair.b)


def models() -> dict[str, Model]:
    sample = {"x": 1.5}
    return {
        "instant": Model(step=instant, samples={"step": [sample]}, batching={"step": False}),
        "slow": Model(step=slow, samples={"step": [sample]}, batching={"step": False}),
        "merge": Model(
            merge=merge, samples={"merge": [{"a": 1.0, "b": 2.0}]}, batching={"merge": False}
        ),
    }
