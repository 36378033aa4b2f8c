"""A client that goes away mid-request is not a server error (issue 11, defect 9): it used to be
logged as `ERROR unhandled error` with a traceback, which drowned real failures."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI, Request
from modelbay_common.errors import install_problem_handlers
from starlette.types import Message


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    @app.post("/relay")
    async def relay(request: Request) -> dict[str, int]:
        try:
            await request.body()
        except Exception as exc:  # an upstream client wraps what the body iterator raised
            raise RuntimeError("upstream request failed") from exc
        return {}

    return app


async def _post_then_disconnect(app: FastAPI, path: str) -> list[Message]:
    incoming: list[Message] = [
        {"type": "http.request", "body": b"part of a bundle", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/gzip")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        "root_path": "",
    }
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", ["/upload", "/relay"])
async def test_a_client_disconnect_is_logged_at_info_not_as_an_error(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="modelbay.errors"):
        sent = await _post_then_disconnect(_app(), path)

    records = [r for r in caplog.records if r.name == "modelbay.errors"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.INFO, "client disconnected")]
    assert sent[0]["status"] == 400  # nobody reads it; never a 500 in the access log
