"""A catalog write is committed before its answer leaves (real Postgres, the catalog's ASGI app).

FastAPI (≥ 0.118) runs the exit of a `yield` dependency after the response is sent unless the
dependency says `scope="function"`. The catalog's unit of work is such a dependency, so without
it a client (the gateway, then a browser following a redirect) could read the state from before
its own change: found as the web review test's "published as private" page still saying public.
The check: when the catalog starts its answer to a publication, another connection already sees
the new visibility.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_curation import PUBLISH, ready_model
from gateway_limits import GATEWAY_MAX_UPLOAD
from gateway_services import InProcessServices, in_process_services
from modelbay_common.access import Caller, caller_headers
from modelbay_common.db import create_engine
from modelbay_common.internal_auth import InternalAuth
from sqlalchemy import text


@pytest.fixture(scope="module")
async def in_process(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcessServices]:
    async with in_process_services(
        module_database_url,
        tmp_path_factory.mktemp("blobs"),
        gateway={"max_upload_bytes": GATEWAY_MAX_UPLOAD},
    ) as started:
        yield started


async def test_a_publication_is_committed_when_its_answer_starts(
    in_process: InProcessServices, archive_bytes: bytes
) -> None:
    stack = in_process.stack
    token = await stack.new_user("cora")
    await ready_model(stack, token, "cora", "kites", archive_bytes)
    catalog = in_process.apps["catalog"]
    engine = create_engine(stack.database_url)
    seen_when_answering: list[str | None] = []

    async def observed(scope: Any, receive: Any, send: Any) -> None:
        async def send_and_look(message: Any) -> None:
            if message["type"] == "http.response.start":
                async with engine.connect() as other:
                    seen_when_answering.append(
                        await other.scalar(
                            text(
                                "SELECT visibility FROM catalog.models "
                                "WHERE owner = 'cora' AND name = 'kites'"
                            )
                        )
                    )
            await send(message)

        await catalog(scope, receive, send_and_look)

    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=observed),
            base_url="http://catalog",
            auth=InternalAuth(),
            headers=caller_headers(Caller(user="cora")),
        ) as client:
            published = await client.post(
                "/internal/models/cora/kites/publish", json={**PUBLISH, "visibility": "public"}
            )
    finally:
        await engine.dispose()
    assert published.status_code == 200, published.text
    assert seen_when_answering == ["public"]
