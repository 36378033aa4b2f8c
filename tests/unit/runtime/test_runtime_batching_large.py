"""Large requests are merged too: rows up to the cost budget (`max_batch_size`, in rows), split
back exactly, a request above the budget called alone, a failing request isolated.

The split is proved on the layout itself with rows that carry their own identity (request,
row), so any shift, overlap or truncation shows; the server tests then hold the fake model
busy (as test_runtime_batching.py does) so that large requests queue and merge.
"""

from __future__ import annotations

import asyncio
import random

from modelbay_runtime.server.columns import ColumnLayout
from runtime_fakes import expected_labels, iris_payload, serve_fake
from test_runtime_batching import hold_model, post_iris, random_rows, wait_until_queued


def _any(values: list[object]) -> bool:
    return True


LAYOUT = ColumnLayout(inputs=(("who", _any), ("row", _any)), outputs=("who", "row"))


def tagged_request(who: int, rows: int) -> dict[str, list[object]]:
    return {"who": [who] * rows, "row": list(range(rows))}


def test_split_gives_back_exactly_each_request_rows_for_odd_and_mixed_sizes() -> None:
    for sizes in ([1], [100, 100, 100], [1, 3, 97, 255, 7, 1], [513, 1, 511], [2, 65, 129, 64]):
        requests = [tagged_request(who, rows) for who, rows in enumerate(sizes)]
        merged = LAYOUT.merge(requests)
        assert len(merged["who"]) == sum(sizes)
        # The identity model: output row i is input row i, as a row-wise model promises.
        parts = LAYOUT.split(dict(merged), sizes)
        assert parts == requests, sizes


def test_split_refuses_output_that_is_not_row_aligned() -> None:
    sizes = [100, 37]
    merged = LAYOUT.merge([tagged_request(0, 100), tagged_request(1, 37)])
    short = {name: values[:-1] for name, values in merged.items()}
    assert LAYOUT.split(short, sizes) is None
    assert LAYOUT.split({**merged, "extra": [0] * 137}, sizes) is None


async def test_large_requests_share_calls_and_get_exactly_their_rows() -> None:
    rng = random.Random(21)
    sizes = [100, 97, 1, 255, 3, 100, 100, 64, 65, 129, 100, 33]
    requests = [random_rows(rng, n) for n in sizes]
    async with serve_fake(max_batch_size=1024) as (server, client, fake):
        await hold_model(fake)
        first = asyncio.create_task(post_iris(client, fake, requests[0], protobuf=False))
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        rest = [
            asyncio.create_task(post_iris(client, fake, rows, protobuf=i % 2 == 1))
            for i, rows in enumerate(requests[1:])
        ]
        await wait_until_queued(server, "classify", len(requests) - 1)
        fake.calls.gate.set()
        results = await asyncio.gather(first, *rest)

    for rows, labels in zip(requests, results, strict=True):
        assert labels == expected_labels(rows)
    calls = fake.calls.rows_per_call
    assert calls[0] == 100  # the first request found the model idle and went alone
    assert sum(calls) == sum(sizes)  # every row predicted exactly once
    assert all(rows <= 1024 for rows in calls)  # never above the budget
    assert len(calls) == 2  # the eleven queued requests (947 rows) fit one merged call


async def test_a_request_above_the_budget_runs_alone_and_the_rest_still_merge() -> None:
    rng = random.Random(5)
    sizes = [10, 300, 100, 100, 100]
    requests = [random_rows(rng, n) for n in sizes]
    async with serve_fake(max_batch_size=256) as (server, client, fake):
        await hold_model(fake)
        first = asyncio.create_task(post_iris(client, fake, requests[0], protobuf=False))
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        big = asyncio.create_task(post_iris(client, fake, requests[1], protobuf=True))
        rest = [asyncio.create_task(post_iris(client, fake, r, False)) for r in requests[2:]]
        await wait_until_queued(server, "classify", 3)  # the 300-row one never queues
        fake.calls.gate.set()
        results = await asyncio.gather(first, big, *rest)

    for rows, labels in zip(requests, results, strict=True):
        assert labels == expected_labels(rows)
    calls = fake.calls.rows_per_call
    assert sorted(calls) == sorted([10, 300, 200, 100])  # 3 x 100 rows do not fit 256: 200+100


async def test_a_failing_large_request_fails_alone_among_large_batch_mates() -> None:
    rng = random.Random(13)
    good = [random_rows(rng, n) for n in (100, 99, 101, 100, 57, 100)]
    breaking = iris_payload(random_rows(rng, 100))
    breaking["sepal_length"][73] = -1.0  # valid shape: it merges, then the model raises
    wrong_type = iris_payload(random_rows(rng, 100))
    wrong_type["petal_width"][88] = "wide"  # refused before batching, judged alone
    async with serve_fake(max_batch_size=1024) as (server, client, fake):
        await hold_model(fake)
        first = asyncio.create_task(post_iris(client, fake, good[0], protobuf=False))
        await asyncio.to_thread(fake.calls.entered.wait, 30)
        good_tasks = [asyncio.create_task(post_iris(client, fake, r, True)) for r in good[1:]]
        bad_tasks = [
            asyncio.create_task(client.post("/model/methods/classify", json=payload))
            for payload in (breaking, wrong_type)
        ]
        await wait_until_queued(server, "classify", len(good))  # 5 good + the breaking one
        fake.calls.gate.set()
        results = await asyncio.gather(first, *good_tasks)
        broken, typed = await asyncio.gather(*bad_tasks)

    for rows, labels in zip(good, results, strict=True):
        assert labels == expected_labels(rows)
    assert broken.status_code == 500
    assert "0xSECRET" not in broken.text
    assert typed.status_code == 422
    assert typed.json()["field"] == "petal_width[88]"
    calls = fake.calls.rows_per_call
    merged = sum(len(r) for r in good[1:]) + 100
    assert merged in calls  # the merged attempt with the culprit inside...
    assert calls[calls.index(merged) + 1 :] == [99, 101, 100, 57, 100, 100]  # ...then one by one
