"""In-process bus: fan-out per consumer, ordering, retries, dead letters and replay."""

from __future__ import annotations

import pytest
from modelbay_common.bus import BusNotStartedError, InProcessBus, RetryPolicy, routing_key_matches
from modelbay_common.events import (
    DependencyResolutionFailed,
    Envelope,
    ImageBuildFailed,
    envelope,
)

NO_WAIT = RetryPolicy(max_attempts=3, delays=(0.0,))


def failed(version: int = 1) -> Envelope:
    event = DependencyResolutionFailed(owner="o", name="m", version=version, reason="r")
    return envelope(event, source="/test")


def build_failed(version: int = 1) -> Envelope:
    event = ImageBuildFailed(owner="o", name="m", version=version, reason="r")
    return envelope(event, source="/test")


async def test_each_consumer_gets_its_own_copy_of_matching_events_only() -> None:
    bus = InProcessBus(NO_WAIT)
    seen: dict[str, list[str]] = {"a": [], "b": [], "all": []}
    for consumer, types in (
        ("a", [DependencyResolutionFailed.type]),
        ("b", [ImageBuildFailed.type]),
        ("all", ["modelbay.model.#"]),
    ):

        async def record(env: Envelope, consumer: str = consumer) -> None:
            seen[consumer].append(env.id)

        await bus.subscribe(consumer, types, record)
    await bus.start()
    first, second = failed(), build_failed()

    await bus.publish(first)
    await bus.publish(second)
    await bus.drain()
    await bus.close()

    assert seen == {"a": [first.id], "b": [second.id], "all": [first.id, second.id]}


async def test_handlers_receive_an_equal_but_separately_parsed_envelope() -> None:
    bus = InProcessBus(NO_WAIT)
    received: list[Envelope] = []

    async def record(env: Envelope) -> None:
        received.append(env)

    await bus.subscribe("c", [DependencyResolutionFailed.type], record)
    await bus.start()
    sent = failed()
    await bus.publish(sent)
    await bus.drain()
    await bus.close()

    assert received == [sent]
    assert received[0] is not sent  # it went through JSON, as over the wire


async def test_a_consumer_sees_events_in_publish_order() -> None:
    bus = InProcessBus(NO_WAIT)
    versions: list[int] = []

    async def record(env: Envelope) -> None:
        versions.append(env.data.version)

    await bus.subscribe("ordered", [DependencyResolutionFailed.type], record)
    await bus.start()
    for version in range(1, 51):
        await bus.publish(failed(version))
    await bus.drain()
    await bus.close()

    assert versions == list(range(1, 51))


async def test_a_failing_handler_is_retried_until_it_succeeds() -> None:
    bus = InProcessBus(NO_WAIT)
    attempts: list[str] = []

    async def flaky(env: Envelope) -> None:
        attempts.append(env.id)
        if len(attempts) < 3:
            raise RuntimeError("database briefly unavailable")

    await bus.subscribe("flaky", [DependencyResolutionFailed.type], flaky)
    await bus.start()
    sent = failed()
    await bus.publish(sent)
    await bus.drain()

    assert attempts == [sent.id] * 3
    assert await bus.dead_letters("flaky") == []
    await bus.close()


async def test_exhausted_retries_dead_letter_the_event_and_replay_brings_it_back() -> None:
    bus = InProcessBus(NO_WAIT)
    attempts: list[str] = []
    handled: list[str] = []
    broken = True

    async def handler(env: Envelope) -> None:
        attempts.append(env.id)
        if broken:
            raise ValueError("bug in handler")
        handled.append(env.id)

    await bus.subscribe("dlq-test", [DependencyResolutionFailed.type], handler)
    await bus.start()
    sent = failed()
    await bus.publish(sent)
    await bus.drain()

    letters = await bus.dead_letters("dlq-test")
    assert len(attempts) == NO_WAIT.max_attempts
    assert [(letter.event_id, letter.attempts) for letter in letters] == [(sent.id, 3)]
    assert letters[0].error == "ValueError: bug in handler"
    assert letters[0].event_type == DependencyResolutionFailed.type
    assert handled == []

    broken = False
    assert await bus.replay_dead_letters("dlq-test") == 1
    await bus.drain()

    assert handled == [sent.id]
    assert await bus.dead_letters("dlq-test") == []
    await bus.close()


async def test_a_retried_event_does_not_hold_up_the_events_behind_it() -> None:
    bus = InProcessBus(RetryPolicy(max_attempts=2, delays=(0.0,)))
    order: list[int] = []
    failed_once: set[int] = set()

    async def handler(env: Envelope) -> None:
        version = env.data.version
        if version == 1 and version not in failed_once:
            failed_once.add(version)
            raise RuntimeError("first try fails")
        order.append(version)

    await bus.subscribe("c", [DependencyResolutionFailed.type], handler)
    await bus.start()
    for version in (1, 2, 3):
        await bus.publish(failed(version))
    await bus.drain()
    await bus.close()

    assert order == [2, 3, 1]


async def test_publish_before_start_is_refused() -> None:
    bus = InProcessBus(NO_WAIT)

    with pytest.raises(BusNotStartedError):
        await bus.publish(failed())


async def test_consumer_names_are_checked() -> None:
    bus = InProcessBus(NO_WAIT)

    async def handler(env: Envelope) -> None:
        return None

    with pytest.raises(ValueError, match="invalid consumer name"):
        await bus.subscribe("has spaces", [DependencyResolutionFailed.type], handler)


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("modelbay.model.uploaded.v1", "modelbay.model.uploaded.v1", True),
        ("modelbay.model.*.v1", "modelbay.model.uploaded.v1", True),
        ("modelbay.*.v1", "modelbay.model.uploaded.v1", False),
        ("modelbay.#", "modelbay.model.uploaded.v1", True),
        ("modelbay.model.uploaded.v1.#", "modelbay.model.uploaded.v1", True),
        ("#.v1", "modelbay.model.uploaded.v1", True),
        ("#", "anything.at.all", True),
        ("modelbay.model.uploaded.v1", "modelbay.model.published.v1", False),
    ],
)
def test_topic_patterns_follow_amqp_rules(pattern: str, key: str, matches: bool) -> None:
    assert routing_key_matches(pattern, key) is matches


def test_retry_policy_repeats_its_last_delay() -> None:
    policy = RetryPolicy(max_attempts=5, delays=(1.0, 5.0))

    assert [policy.delay_after(n) for n in (1, 2, 3, 4)] == [1.0, 5.0, 5.0, 5.0]
    assert not policy.exhausted(4)
    assert policy.exhausted(5)


def test_the_bus_url_picks_the_adapter() -> None:
    from modelbay_common.bus import create_bus
    from modelbay_common.bus.rabbitmq import RabbitMqBus

    assert isinstance(create_bus("memory://"), InProcessBus)
    assert isinstance(create_bus("amqp://u:p@127.0.0.1:5672/"), RabbitMqBus)  # no I/O until start
    with pytest.raises(ValueError, match="unsupported bus URL"):
        create_bus("kafka://127.0.0.1")
