"""In-process bus: the bus semantics inside one event loop, for the embedded mode and unit tests.

Each consumer name owns an in-memory FIFO queue and one worker task per subscription, so a
consumer sees events in publish order (a retried event re-enters at the back of the queue after
its back-off, as with RabbitMQ's retry queues). Bodies are serialised to JSON and parsed again on
delivery, exactly as over the wire, so contract problems show up in unit tests too.

Nothing here survives the process: queued events and dead letters live in memory. The embedded
mode accepts that; the stack mode uses the RabbitMQ adapter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modelbay_common.bus.port import (
    BusNotStartedError,
    DeadLetter,
    Handler,
    RetryPolicy,
    routing_key_matches,
    validate_consumer_name,
)
from modelbay_common.events import Envelope, EventDecodeError, parse_event
from modelbay_common.metrics import platform_metrics

__all__ = ["InProcessBus"]

log = logging.getLogger(__name__)


@dataclass
class _Delivery:
    body: bytes
    event_type: str
    failed_attempts: int = 0


@dataclass
class _ConsumerQueue:
    name: str
    patterns: set[str] = field(default_factory=set)
    queue: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def wants(self, event_type: str) -> bool:
        return any(routing_key_matches(pattern, event_type) for pattern in self.patterns)


class InProcessBus:
    """Bus and DeadLetterAdmin in memory, with retries, back-off and dead letters."""

    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self._retry = retry or RetryPolicy()
        self._consumers: dict[str, _ConsumerQueue] = {}
        self._subscriptions: list[tuple[_ConsumerQueue, Handler]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._retry_timers: set[asyncio.TimerHandle] = set()
        self._unfinished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False

    async def start(self) -> None:
        self._started = True
        for consumer, handler in self._subscriptions:
            self._start_worker(consumer, handler)

    async def close(self) -> None:
        self._started = False
        for timer in self._retry_timers:
            timer.cancel()
        self._retry_timers.clear()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def publish(self, envelope: Envelope) -> None:
        if not self._started:
            raise BusNotStartedError("InProcessBus.publish() called before start()")
        body = envelope.to_json()
        for consumer in self._consumers.values():
            if consumer.wants(envelope.type):
                self._enqueue(consumer, _Delivery(body=body, event_type=envelope.type))

    async def subscribe(self, consumer: str, event_types: Iterable[str], handler: Handler) -> None:
        queue = self._consumers.get(validate_consumer_name(consumer))
        if queue is None:
            queue = self._consumers[consumer] = _ConsumerQueue(name=consumer)
        queue.patterns.update(event_types)
        self._subscriptions.append((queue, handler))
        if self._started:
            self._start_worker(queue, handler)

    async def drain(self) -> None:
        """Wait until every published event was handled or dead-lettered (tests, shutdown)."""
        await self._idle.wait()

    async def dead_letters(self, consumer: str, limit: int = 100) -> list[DeadLetter]:
        queue = self._consumers.get(consumer)
        return [] if queue is None else list(queue.dead_letters[:limit])

    def liveness_problem(self) -> str | None:
        """Why a consumer no longer runs (a worker task ended), or None (for `/healthz`)."""
        if not self._started:
            return "the in-process bus is not started"
        ended = [task.get_name() for task in self._workers if task.done()]
        return f"consumer tasks ended: {', '.join(ended)}" if ended else None

    def connection_problem(self) -> str | None:
        return None if self._started else "the in-process bus is not started"

    async def queue_depth(self, consumer: str) -> int:
        queue = self._consumers.get(consumer)
        return 0 if queue is None else queue.queue.qsize()

    async def dead_letter_count(self, consumer: str) -> int:
        queue = self._consumers.get(consumer)
        return 0 if queue is None else len(queue.dead_letters)

    async def replay_dead_letters(self, consumer: str, limit: int | None = None) -> int:
        queue = self._consumers.get(consumer)
        if queue is None:
            return 0
        if not self._started:
            raise BusNotStartedError("InProcessBus.replay_dead_letters() called before start()")
        count = len(queue.dead_letters) if limit is None else min(limit, len(queue.dead_letters))
        replayed, queue.dead_letters = queue.dead_letters[:count], queue.dead_letters[count:]
        for letter in replayed:
            event_type = letter.event_type or ""
            self._enqueue(queue, _Delivery(body=letter.body, event_type=event_type))
        return count

    def _start_worker(self, consumer: _ConsumerQueue, handler: Handler) -> None:
        task = asyncio.create_task(self._work(consumer, handler), name=f"bus:{consumer.name}")
        self._workers.append(task)

    def _enqueue(self, consumer: _ConsumerQueue, delivery: _Delivery) -> None:
        self._unfinished += 1
        self._idle.clear()
        consumer.queue.put_nowait(delivery)

    def _finished(self) -> None:
        self._unfinished -= 1
        if self._unfinished == 0:
            self._idle.set()

    async def _work(self, consumer: _ConsumerQueue, handler: Handler) -> None:
        while True:
            delivery = await consumer.queue.get()
            await self._deliver(consumer, handler, delivery)

    async def _deliver(
        self, consumer: _ConsumerQueue, handler: Handler, delivery: _Delivery
    ) -> None:
        if delivery.failed_attempts > 0:
            platform_metrics().event_redeliveries.labels(consumer.name).inc()
        try:
            envelope = parse_event(delivery.body)
        except EventDecodeError as exc:
            # A body that cannot be read will not become readable by retrying.
            self._dead_letter(consumer, delivery, error=str(exc), event_id=None)
            return
        try:
            await handler(envelope)
        except Exception as exc:
            self._handle_failure(consumer, delivery, envelope, exc)
            return
        self._finished()

    def _handle_failure(
        self, consumer: _ConsumerQueue, delivery: _Delivery, envelope: Envelope, exc: Exception
    ) -> None:
        delivery.failed_attempts += 1
        error = f"{type(exc).__name__}: {exc}"
        if self._retry.exhausted(delivery.failed_attempts):
            log.error("consumer %s dead-lettered event %s: %s", consumer.name, envelope.id, error)
            self._dead_letter(consumer, delivery, error=error, event_id=envelope.id)
            return
        delay = self._retry.delay_after(delivery.failed_attempts)
        log.warning(
            "consumer %s failed on event %s (attempt %d), retrying in %.1fs: %s",
            consumer.name,
            envelope.id,
            delivery.failed_attempts,
            delay,
            error,
        )
        self._schedule_retry(consumer, delivery, delay)

    def _schedule_retry(self, consumer: _ConsumerQueue, delivery: _Delivery, delay: float) -> None:
        def requeue() -> None:
            self._retry_timers.discard(timer)
            consumer.queue.put_nowait(delivery)

        timer = asyncio.get_running_loop().call_later(delay, requeue)
        self._retry_timers.add(timer)

    def _dead_letter(
        self, consumer: _ConsumerQueue, delivery: _Delivery, *, error: str, event_id: str | None
    ) -> None:
        consumer.dead_letters.append(
            DeadLetter(
                consumer=consumer.name,
                body=delivery.body,
                attempts=delivery.failed_attempts,
                error=error,
                failed_at=datetime.now(UTC),
                event_id=event_id,
                event_type=delivery.event_type or None,
            )
        )
        self._finished()
