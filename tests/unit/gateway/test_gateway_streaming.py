"""In-process transport and the upload limit: streaming both ways, bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from modelbay_embedded.inprocess import InProcessTransport
from modelbay_gateway.errors import UploadTooLarge
from modelbay_gateway.service_models import LimitedBody


def endless_app(produced: list[int]) -> FastAPI:
    app = FastAPI()

    @app.get("/endless")
    async def endless() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            index = 0
            while True:
                produced.append(index)
                yield f"{index}\n".encode()
                index += 1

        return StreamingResponse(chunks())

    @app.post("/count")
    async def count(request: Request) -> JSONResponse:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return JSONResponse({"bytes": total})

    @app.get("/boom")
    async def boom() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"partial"
            raise RuntimeError("broken mid-stream")

        return StreamingResponse(chunks())

    return app


async def test_endless_response_streams_with_back_pressure() -> None:
    produced: list[int] = []
    transport = InProcessTransport(endless_app(produced))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://app") as client,
        client.stream("GET", "/endless") as response,
    ):
        lines = response.aiter_lines()
        assert [await anext(lines) for _ in range(3)] == ["0", "1", "2"]
        await asyncio.sleep(0)  # let the app run ahead as far as it may
        # httpx's own ASGITransport would never return here: it collects the whole body.
        assert len(produced) < 50


async def test_request_body_is_streamed_to_the_app() -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    transport = InProcessTransport(endless_app([]))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.post("/count", content=body())
    assert response.json() == {"bytes": 10_000}


async def test_failure_mid_stream_is_a_read_error_not_a_short_body() -> None:
    transport = InProcessTransport(endless_app([]))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        with pytest.raises(httpx.ReadError):
            await client.get("/boom")


async def test_limited_body_stops_reading_past_the_limit() -> None:
    pulled = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"x" * 10

    limited = LimitedBody(source(), limit=25)
    received: list[bytes] = []

    async def read_all() -> None:
        async for chunk in limited:
            received.append(chunk)

    with pytest.raises(UploadTooLarge):
        await read_all()
    assert limited.exceeded
    assert pulled == 3
    assert b"".join(received) == b"x" * 20


async def test_limited_body_passes_a_small_body_unchanged() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b""
        yield b"def"

    limited = LimitedBody(source(), limit=6)
    assert [chunk async for chunk in limited] == [b"abc", b"def"]
    assert not limited.exceeded
