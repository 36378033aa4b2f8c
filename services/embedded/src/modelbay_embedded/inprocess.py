"""An httpx transport that calls an ASGI app in-process and streams both ways.

httpx's own `ASGITransport` streams the request body but collects the whole response before
returning it, which would hold an image tarball in memory and never return from an endless
stream. Here the app runs in a task of its own and each response chunk is handed over through a
small bounded queue, so memory stays at a few chunks and the app is paused (back-pressure) while
the client does not read. The embedded mode and the tests use it to call the other services'
apps without a network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

_QUEUE_CHUNKS = 4
_END = object()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, chunks: asyncio.Queue[Any], task: asyncio.Task[None]) -> None:
        self._chunks = chunks
        self._task = task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._chunks.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise httpx.ReadError(f"in-process app failed while streaming: {item}") from item
            yield item

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class InProcessTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        chunks: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_CHUNKS)
        disconnected = asyncio.Event()
        body = request.stream.__aiter__()
        request_done = False

        async def receive() -> Message:
            nonlocal request_done
            if request_done:
                await disconnected.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await chunks.put(message["body"])
                if not message.get("more_body", False):
                    await chunks.put(_END)

        async def run_app() -> None:
            try:
                await self.app(self._scope(request), receive, send)
            except asyncio.CancelledError:  # the client closed the response early
                if not started.done():
                    started.cancel()
                raise
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                else:  # the reader sees it after the chunks already sent
                    await chunks.put(exc)
            finally:
                disconnected.set()
                if not started.done():
                    started.set_exception(RuntimeError("the app returned without a response"))

        task = asyncio.create_task(run_app(), name=f"in-process {request.method} {request.url}")
        try:
            status, headers = await started
        except BaseException:
            task.cancel()
            raise
        return httpx.Response(status, headers=headers, stream=_ResponseStream(chunks, task))

    def _scope(self, request: httpx.Request) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
