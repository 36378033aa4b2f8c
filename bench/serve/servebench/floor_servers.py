"""The two floors of issue 14's ceiling measurement (`servebench.ceiling`), as tiny servers.

`raw`: an `asyncio.Protocol` fed by `httptools`, answering every request with a fixed 1-row
JSON body over keep-alive — no ASGI, no per-request objects beyond httptools' callbacks: the
fastest a Python HTTP server can answer on this machine. `asgi`: uvicorn (httptools + uvloop,
the runtime's settings) with a bare ASGI app returning the same bytes: the floor of any ASGI
server. Run as `python -m servebench.floor_servers raw|asgi PORT`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

BODY = b'{"IrisType": [1]}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class RawProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        import httptools

        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_message_complete(self) -> None:
        assert self._transport is not None
        self._transport.write(RESPONSE)


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def main(kind: str, port: int) -> None:
    import uvloop

    if kind == "raw":

        async def serve() -> None:
            server = await asyncio.get_running_loop().create_server(
                RawProtocol, "127.0.0.1", port, backlog=1024
            )
            await server.serve_forever()

        uvloop.run(serve())
    else:
        import uvicorn

        uvicorn.run(
            bare_app,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
            lifespan="off",
            proxy_headers=False,
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
