"""Webhooks end to end on real Postgres, with a real HTTP receiver on loopback.

The receiver verifies every Standard Webhooks signature with the secret it was shown once,
answers 500 to its first request and 204 after: the gateway retries with back-off (the same
`webhook-id`), the delivery log shows it, and a redelivery sends the message again. A webhook
only receives events of models its owner may see (bob sees alice's model once it is public).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from gateway_stack import ADMIN_TOKEN, Stack

WAIT = 60.0  # a bound against hangs, not a speed requirement


@pytest.fixture(scope="module")
def gateway_overrides() -> dict[str, Any]:
    return {
        "webhook_allow_private_targets": True,  # the receiver is on loopback
        "webhook_backoff_seconds": 0.2,
        "webhook_poll_seconds": 0.1,
        "webhook_max_attempts": 3,
    }


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def type(self) -> str:
        return str(json.loads(self.body)["type"])


@dataclass
class Receiver:
    """A real HTTP endpoint; `fail_first` requests are answered 500."""

    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def verify(self, secret: str, request: Received) -> bool:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
        expected = base64.b64encode(
            hmac.new(key, signed.encode() + request.body, hashlib.sha256).digest()
        ).decode()
        given = [part.split(",", 1)[1] for part in request.headers["webhook-signature"].split()]
        return any(hmac.compare_digest(expected, signature) for signature in given)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(fail_first=1)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {key.lower(): value for key, value in self.headers.items()}
            found.requests.append(Received(self.path, headers, body))
            failing = len(found.requests) <= found.fail_first
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


async def _until(check: Any, what: str) -> None:
    async def poll() -> None:
        while not await check():  # noqa: ASYNC110 - polling another thread's list
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


async def test_signed_deliveries_retried_logged_redelivered_and_filtered_by_visibility(
    stack: Stack, archive_bytes: bytes, receiver: Receiver
) -> None:
    alice = await stack.new_user("wanda")
    bob = await stack.new_user("wbob")
    async with stack.client(alice) as client:
        created = await client.post(
            "/v1/webhooks",
            json={
                "url": receiver.url,
                "events": ["modelbay.model.uploaded.v1", "modelbay.model.published.v1"],
            },
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["secret"].startswith("whsec_")
        listed = (await client.get("/v1/webhooks")).json()
        assert [item["id"] for item in listed] == [hook["id"]]
        assert "secret" not in listed[0]
    async with stack.client(bob) as client:
        bobs = await client.post("/v1/webhooks", json={"url": receiver.url + "/bob"})
        assert bobs.status_code == 201
        assert (await client.get(f"/v1/webhooks/{hook['id']}")).status_code == 404

    assert (await stack.push(alice, "wanda", "adder", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(alice, "wanda", "adder", 1)

    async def two_requests() -> bool:
        return len(receiver.requests) >= 2

    await _until(two_requests, "the upload was delivered after one 500")
    first, second = receiver.requests[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # a retry, same message
    for request in (first, second):
        assert receiver.verify(hook["secret"], request)
        assert request.type == "modelbay.model.uploaded.v1"
    # bob may not see the private model: nothing went to his endpoint.
    assert [r for r in receiver.requests if r.path == "/hooks/bob"] == []

    # The receiver saw the retry before the deliverer recorded its answer: wait for the record.
    async def delivery_settled() -> bool:
        async with stack.client(alice) as client:
            log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
        return len(log) == 1 and log[0]["status"] != "pending"

    await _until(delivery_settled, "the delivery's outcome was recorded")
    async with stack.client(alice) as client:
        log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
    [delivery] = log
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == 2
    assert delivery["last_status_code"] == 204
    assert delivery["webhook_id"] == first.headers["webhook-id"]

    # Published (public): both webhooks get it, each signed with its own secret.
    await stack.make_ready("wanda", "adder", 1, detail["bundle"]["sha256"])
    async with stack.client(alice) as client:
        published = await client.post(
            "/v1/models/wanda/adder/publish",
            json={"description": "Adds", "category": "regression", "license": "MIT"},
        )
    assert published.status_code == 200, published.text

    def published_at(path: str) -> list[Received]:
        return [
            r
            for r in receiver.requests
            if r.path == path and r.type == "modelbay.model.published.v1"
        ]

    async def both_published() -> bool:
        return bool(published_at("/hooks") and published_at("/hooks/bob"))

    await _until(both_published, "the publication reached both webhooks")
    assert receiver.verify(hook["secret"], published_at("/hooks")[0])
    assert receiver.verify(bobs.json()["secret"], published_at("/hooks/bob")[0])
    assert not receiver.verify(hook["secret"], published_at("/hooks/bob")[0])
    # Bob's webhook (every event) received no event of the model before it was public.
    bob_saw = [r.type for r in receiver.requests if r.path == "/hooks/bob"]
    assert bob_saw == ["modelbay.model.published.v1"]

    # Redelivery: the same message again, on demand.
    before = len(receiver.requests)
    async with stack.client(alice) as client:
        again = await client.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
        )
        assert again.status_code == 202

    async def redelivered() -> bool:
        return len(receiver.requests) > before

    await _until(redelivered, "the redelivery arrived")
    assert receiver.requests[-1].headers["webhook-id"] == delivery["webhook_id"]

    # Rotation: a new secret signs from now on.
    async with stack.client(alice) as client:
        rotated = (await client.post(f"/v1/webhooks/{hook['id']}/rotate-secret")).json()
    assert rotated["secret"] != hook["secret"]


async def test_webhook_input_is_checked_and_private_targets_refused_when_not_allowed(
    stack: Stack,
) -> None:
    async with stack.client(ADMIN_TOKEN) as admin:
        bad_url = await admin.post("/v1/webhooks", json={"url": "ftp://example.org/x"})
        bad_events = await admin.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["everything"]}
        )
        unknown = await admin.delete("/v1/webhooks/8b3c1f2e-0000-4000-8000-000000000000")
    assert bad_url.status_code == 422
    assert bad_events.status_code == 422
    assert bad_events.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404


async def test_an_organisation_webhook_is_managed_by_its_owners_only(stack: Stack) -> None:
    owner = await stack.new_user("worgowner")
    member = await stack.new_user("worgmember")
    async with stack.client(owner) as client:
        assert (await client.post("/v1/orgs", json={"name": "whlab"})).status_code == 201
        added = await client.put("/v1/orgs/whlab/members/worgmember", json={"role": "maintainer"})
        assert added.status_code in (200, 201), added.text
        created = await client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/org", "org": "whlab"}
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["org"] == "whlab"
        assert [item["id"] for item in (await client.get("/v1/webhooks")).json()] == [hook["id"]]
    async with stack.client(member) as client:
        refused = await client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/org", "org": "whlab"}
        )
        assert refused.status_code == 403
        assert (await client.get(f"/v1/webhooks/{hook['id']}")).status_code == 404
        assert (await client.delete(f"/v1/webhooks/{hook['id']}")).status_code == 404
        assert (await client.get("/v1/webhooks")).json() == []
    async with stack.client(owner) as client:
        paused = await client.patch(f"/v1/webhooks/{hook['id']}", json={"active": False})
        assert paused.json()["active"] is False
        assert (await client.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
