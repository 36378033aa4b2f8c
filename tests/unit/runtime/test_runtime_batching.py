"""Adaptive batching: merged calls give every caller exactly its own rows, and one caller's
bad input never fails its batch-mates.

Determinism without timing: the fake model blocks on a gate, so while its first call is held
every other request queues up in the batcher; the test waits for the queue to fill, opens the
gate, and the queued requests are then served by merged calls.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
from modelbay_runtime.server import ModelServer
from runtime_fakes import FakeModel, expected_labels, iris_payload, serve_fake
from test_runtime_api import message_class

Row = tuple[float, float, float, float]


def random_rows(rng: random.Random, count: int) -> list[Row]:
    return [
        (
            round(rng.uniform(4, 8), 1),
            round(rng.uniform(2, 4.5), 1),
            round(rng.uniform(1, 7), 1),
            round(rng.uniform(0.1, 2.5), 1),
        )
        for _ in range(count)
    ]


async def wait_until_queued(server: ModelServer, method: str, count: int) -> None:
    batcher = server.ready_state().methods[method].batcher
    assert batcher is not None
    for _ in range(3000):  # a condition to wait for, not a time limit being asserted
        if batcher.queued >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {batcher.queued} of {count} requests queued")


async def hold_model(fake: FakeModel) -> None:
    """Close the gate; the first request's call then blocks inside the model."""
    fake.calls.gate.clear()
    fake.calls.entered.clear()


async def post_iris(
    client: httpx.AsyncClient, fake: FakeModel, rows: list[Row], protobuf: bool
) -> list[int]:
    if not protobuf:
        response = await client.post("/model/methods/classify", json=iris_payload(rows))
        assert response.status_code == 200, response.text
        labels: list[int] = response.json()["IrisType"]
        return labels
    request_class = message_class(fake.descriptor_set, "iris.IrisInput")
    response_class = message_class(fake.descriptor_set, "iris.IrisOutput")
    response = await client.post(
        "/model/methods/classify",
        content=request_class(**iris_payload(rows)).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert response.status_code == 200, response.text
    return list(response_class.FromString(response.content).IrisType)


async def test_fifty_concurrent_requests_get_exactly_their_rows() -> None:
    rng = random.Random(7)
    requests = [random_rows(rng, rng.randint(1, 9)) for _ in range(50)]
    async with serve_fake(max_batch_size=64) as (server, client, fake):
        await hold_model(fake)
        first = asyncio.create_task(post_iris(client, fake, requests[0], protobuf=False))
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        rest = [
            asyncio.create_task(post_iris(client, fake, rows, protobuf=i % 2 == 0))
            for i, rows in enumerate(requests[1:])
        ]
        await wait_until_queued(server, "classify", 49)
        fake.calls.gate.set()
        results = await asyncio.gather(first, *rest)
        metrics = (await client.get("/metrics")).text

    for rows, labels in zip(requests, results, strict=True):
        assert labels == expected_labels(rows)
    calls = fake.calls.rows_per_call
    assert sum(calls) == sum(len(r) for r in requests)  # every row predicted exactly once
    assert len(calls) < 50  # requests shared model calls...
    assert max(calls) <= 64  # ...never more rows than the configured maximum
    assert max(calls) > max(len(r) for r in requests)
    assert 'modelbay_batch_requests_count{method="classify"}' in metrics


async def test_bad_input_does_not_fail_its_batch_mates() -> None:
    rng = random.Random(11)
    good = [random_rows(rng, rng.randint(1, 4)) for _ in range(20)]
    model_breaking = iris_payload(random_rows(rng, 2))
    model_breaking["sepal_length"][1] = -1.0  # valid shape: joins a batch, then the model raises
    wrong_type: dict[str, Any] = iris_payload(random_rows(rng, 2))
    wrong_type["petal_width"][0] = "wide"  # rejected before batching, judged alone: 422
    ragged = iris_payload(random_rows(rng, 3))
    ragged["petal_width"].pop()  # columns of unequal length: refused before batching

    async with serve_fake(max_batch_size=256) as (server, client, fake):
        await hold_model(fake)
        blocker = asyncio.create_task(post_iris(client, fake, good[0], protobuf=False))
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        good_tasks = [asyncio.create_task(post_iris(client, fake, r, False)) for r in good[1:]]
        bad_tasks = [
            asyncio.create_task(client.post("/model/methods/classify", json=payload))
            for payload in (model_breaking, wrong_type, ragged)
        ]
        await wait_until_queued(server, "classify", len(good) - 1 + 1)
        fake.calls.gate.set()
        good_results = await asyncio.gather(blocker, *good_tasks)
        broken, typed, uneven = await asyncio.gather(*bad_tasks)

    for rows, labels in zip(good, good_results, strict=True):
        assert labels == expected_labels(rows)
    assert broken.status_code == 500
    assert "0xSECRET" not in broken.text
    assert typed.status_code == 422
    assert typed.json()["field"] == "petal_width[0]"
    assert uneven.status_code == 422
    assert uneven.json()["field"] == "petal_width"
    # the merged call that contained the model-breaking request failed, and was retried alone
    assert max(fake.calls.rows_per_call) > 4


async def test_output_rows_not_matching_input_rows_falls_back_to_single_calls() -> None:
    sizes = [1, 2, 3, 4, 5, 6, 7, 8]
    async with serve_fake() as (server, client, fake):
        await hold_model(fake)
        first = asyncio.create_task(client.post("/model/methods/misaligned", json={"x": [0.0]}))
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        tasks = [
            asyncio.create_task(client.post("/model/methods/misaligned", json={"x": [1.0] * n}))
            for n in sizes
        ]
        await wait_until_queued(server, "misaligned", len(sizes))
        fake.calls.gate.set()
        responses = await asyncio.gather(first, *tasks)
        metadata = (await client.get("/model/metadata")).json()

    assert [r.json() for r in responses] == [{"value": [n]} for n in [1, *sizes]]
    assert metadata["methods"]["misaligned"]["batching"] is False  # switched off for good
    assert fake.calls.rows_per_call[1] == sum(sizes)  # the merged attempt, then one by one
    assert fake.calls.rows_per_call[2:] == sizes


async def test_batching_can_be_switched_off() -> None:
    rng = random.Random(3)
    requests = [random_rows(rng, n) for n in (1, 2, 3, 4, 5)]
    async with serve_fake(batching=False) as (_, client, fake):
        await hold_model(fake)
        tasks = [asyncio.create_task(post_iris(client, fake, r, False)) for r in requests]
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        await asyncio.sleep(0.05)  # let the others pile up; none may merge with batching off
        fake.calls.gate.set()
        results = await asyncio.gather(*tasks)
        metadata = (await client.get("/model/metadata")).json()
    for rows, labels in zip(requests, results, strict=True):
        assert labels == expected_labels(rows)
    assert sorted(fake.calls.rows_per_call) == [1, 2, 3, 4, 5]
    assert metadata["methods"]["classify"]["batching"] is False


async def test_a_lone_request_is_not_delayed_into_a_batch() -> None:
    # With nobody else arriving, the request is sent to the model at once, alone.
    async with serve_fake(max_batch_wait_ms=60_000) as (_, client, fake):
        labels = await post_iris(client, fake, [(5.1, 3.5, 1.4, 0.2)], protobuf=False)
    assert labels == [0]
    assert fake.calls.rows_per_call == [1]
