"""The failed-authentication limit's sliding window, on a fake clock (issue 11, defect 8)."""

from __future__ import annotations

import pytest
from modelbay_gateway.auth_throttle import FailedAuthThrottle, TooManyFailedAuthentications


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_at_the_limit_waits_until_its_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = FailedAuthThrottle(limit=3, window_seconds=60, clock=clock)
    for _ in range(3):
        throttle.check("10.0.0.1")
        throttle.failed("10.0.0.1")
        clock.now += 5  # failures at 1000, 1005, 1010; now 1015
    with pytest.raises(TooManyFailedAuthentications) as refused:
        throttle.check("10.0.0.1")
    assert refused.value.headers["Retry-After"] == "45"  # 1000 + 60 - 1015
    assert refused.value.status == 429
    throttle.check("10.0.0.2")  # another client is not affected
    clock.now = 1060  # the first failure left the window: one more try
    throttle.check("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 5  # the next to leave is 1005 (+60 = 1065)


def test_failures_outside_the_window_are_forgotten() -> None:
    clock = Clock()
    throttle = FailedAuthThrottle(limit=2, window_seconds=5, clock=clock)
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 5
    clock.now += 5
    assert throttle.retry_after("a") is None
