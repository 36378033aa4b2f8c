"""The push body's pacing rule (issue 11, defect 3): a stalled or trickling body is 408."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from modelbay_gateway.upload_pacing import PacedBody, RequestBodyTooSlow


async def _stalls_after(first: bytes) -> AsyncIterator[bytes]:
    yield first
    await asyncio.Event().wait()  # never another byte
    yield b""  # pragma: no cover


async def _collect(body: PacedBody) -> list[bytes]:
    return [chunk async for chunk in body]


async def test_a_stalled_body_is_cut_off() -> None:
    paced = PacedBody(_stalls_after(b"x"), idle_timeout=0.05, min_bytes_per_second=0)
    with pytest.raises(RequestBodyTooSlow) as refused:
        await _collect(paced)
    assert refused.value.status == 408
    assert "no byte" in str(refused.value.detail)
    assert paced.too_slow is refused.value


async def test_a_trickle_below_the_minimum_rate_is_cut_off_after_the_grace_period() -> None:
    now = [0.0]

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(100):
            now[0] += 2.0  # a byte every two seconds (on the fake clock)
            yield b"x"

    paced = PacedBody(trickle(), idle_timeout=10, min_bytes_per_second=1024, clock=lambda: now[0])
    with pytest.raises(RequestBodyTooSlow) as refused:
        await _collect(paced)
    assert "0.5 bytes/s" in str(refused.value.detail)
    assert now[0] == 12.0  # the first chunk after the 10 s grace


async def test_a_body_at_a_fair_pace_passes_whole() -> None:
    async def fast() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 4096

    paced = PacedBody(fast(), idle_timeout=10, min_bytes_per_second=1024)
    assert b"".join(await _collect(paced)) == b"y" * 4096 * 5
