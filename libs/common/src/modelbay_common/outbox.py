"""Transactional outbox: events are written in the same transaction as the state change.

A service makes one `emit = EventEmitter(source=..., schema=...)` and its use cases call
`await emit(session, event)` next to their own writes (`add_to_outbox` takes a ready envelope);
the entrypoint's commit makes both durable together, or neither. `OutboxRelay` then publishes
committed rows with publisher confirms and marks them published. If the process dies between
commit and publish, the next relay (this process restarted, or another replica) finds the row
still unpublished and sends it: an event is never lost, and may be sent twice (consumers are
idempotent through the inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    Uuid,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from modelbay_common.bus.port import Bus
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.events import Envelope, EventDecodeError, EventPayload, envelope, parse_event
from modelbay_common.metrics import platform_metrics
from modelbay_common.tracing import with_trace_context

__all__ = ["EventEmitter", "OutboxRelay", "add_to_outbox", "notify_channel", "outbox_table"]

log = logging.getLogger(__name__)

LISTEN_RETRY_SECONDS = 1.0
"""How often a relay whose LISTEN connection dropped tries to open it again."""
LISTEN_CONNECT_TIMEOUT_SECONDS = 5.0

_default_tables: dict[str, Table] = {}


def outbox_table(schema: str, metadata: MetaData | None = None) -> Table:
    """The `<schema>.outbox` table; pass a service's metadata to include it in autogenerate."""
    if metadata is None:
        if schema not in _default_tables:
            _default_tables[schema] = outbox_table(schema, MetaData())
        return _default_tables[schema]
    return Table(
        "outbox",
        metadata,
        Column("id", Uuid(as_uuid=True), primary_key=True),  # the CloudEvents id
        Column("event_type", Text, nullable=False),
        Column("payload", JSONB, nullable=False),  # the whole structured-mode envelope
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Index(
            "outbox_unpublished_idx",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
        ),
        schema=schema,
    )


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes the relay of `schema` when a row commits."""
    return f"modelbay_outbox_{schema}"


async def add_to_outbox(session: AsyncSession, envelope: Envelope, *, schema: str) -> None:
    """Record `envelope` for publishing when (and only if) the session's transaction commits."""
    table = outbox_table(schema)
    await session.execute(
        insert(table).values(
            id=uuid.UUID(envelope.id),
            event_type=envelope.type,
            payload=envelope.model_dump(mode="json"),
        )
    )
    # NOTIFY is transactional too: it is delivered at commit, and never for a rollback.
    await session.execute(
        text("SELECT pg_notify(:channel, '')"), {"channel": notify_channel(schema)}
    )


@dataclass(frozen=True)
class EventEmitter:
    """How one service emits: its events carry its `source` and go to its `schema`'s outbox."""

    source: str
    schema: str

    async def __call__(self, session: AsyncSession, event: EventPayload) -> Envelope:
        """Wrap `event` in a new envelope and add it to the outbox; the caller commits.

        The envelope carries the current span (`traceparent`), stored with the row, so the
        event's consumers continue this trace however long the row waits for the relay.
        """
        wrapped = with_trace_context(envelope(event, source=self.source))
        await add_to_outbox(session, wrapped, schema=self.schema)
        return wrapped


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    published: int
    broker_failed: bool


class OutboxRelay:
    """Publishes committed outbox rows of one schema; several replicas may run side by side.

    Rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so two relays never publish the
    same row at the same time. Each batch is one transaction: publish (confirmed), then mark
    published and commit. Between batches the relay sleeps `poll_interval` or until a NOTIFY
    from `add_to_outbox` wakes it; while the broker or the database fails it backs off up to
    `max_backoff`.

    The LISTEN connection is its own; when it drops (a Postgres restart) the relay connects
    it again, trying every `LISTEN_RETRY_SECONDS` while it waits, and makes a pass as soon as it is
    back: events committed after the restart wake the relay again, and the ones that waited
    out the outage leave at once rather than after the back-off.

    A batch running longer than `batch_deadline` (a publish that never confirms, a query that
    never answers) makes `liveness_problem` report the relay wedged.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        bus: Bus,
        schema: str,
        *,
        batch_size: int = 100,
        poll_interval: float = 1.0,
        max_backoff: float = 30.0,
        max_attempts: int = 1000,
        wake_on_notify: bool = True,
        batch_deadline: float = 120.0,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._schema = schema
        self._table = outbox_table(schema)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._max_attempts = max_attempts
        self._wake_on_notify = wake_on_notify
        self.batch_deadline = batch_deadline
        self._batch_started: float | None = None  # monotonic; None between batches
        self._listener: asyncpg.Connection | None = None
        self._listen_failed = False
        self.listens_since = 0  # LISTEN connections opened (tests watch the re-LISTEN)
        self._wake = asyncio.Event()
        self._first_pass_done = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def relay_once(self) -> BatchResult:
        """Claim up to `batch_size` unpublished rows, publish them, mark them published."""
        published: list[uuid.UUID] = []
        published_types: list[str] = []
        broker_failed = False
        async with transaction(self._sessions) as session:
            rows = (await session.execute(self._claim_query())).all()
            for row_id, payload in rows:
                try:
                    envelope = parse_event(payload)
                except EventDecodeError as exc:
                    await self._park(session, row_id, str(exc))
                    continue
                try:
                    await self._bus.publish(envelope)
                except Exception as exc:
                    log.warning("outbox %s: publishing %s failed: %s", self._schema, row_id, exc)
                    await self._record_failure(session, row_id, f"{type(exc).__name__}: {exc}")
                    broker_failed = True
                    break  # the broker is the problem; keep the order and retry the batch later
                published.append(row_id)
                published_types.append(envelope.type)
            if published:
                await session.execute(
                    update(self._table)
                    .where(self._table.c.id.in_(published))
                    .values(published_at=func.now())
                )
        # Counted after the commit: a batch whose marking rolled back is published again.
        counter = platform_metrics().events_published
        for event_type in published_types:
            counter.labels(self._schema, event_type).inc()
        return BatchResult(claimed=len(rows), published=len(published), broker_failed=broker_failed)

    def _claim_query(self) -> Select[tuple[uuid.UUID, Any]]:
        table = self._table
        return (
            select(table.c.id, table.c.payload)
            .where(table.c.published_at.is_(None), table.c.attempts < self._max_attempts)
            .order_by(table.c.created_at, table.c.id)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)
        )

    async def _record_failure(self, session: AsyncSession, row_id: uuid.UUID, error: str) -> None:
        await session.execute(
            update(self._table)
            .where(self._table.c.id == row_id)
            .values(attempts=self._table.c.attempts + 1, last_error=error)
        )

    async def _park(self, session: AsyncSession, row_id: uuid.UUID, error: str) -> None:
        # Retrying cannot make an unreadable row readable: park it for an operator.
        log.error("outbox %s: row %s is not a valid event, parked: %s", self._schema, row_id, error)
        await session.execute(
            update(self._table)
            .where(self._table.c.id == row_id)
            .values(attempts=self._max_attempts, last_error=error)
        )

    async def start(self) -> None:
        """Run the relay loop in a background task until stop().

        Returns once the relay listens for commits and has made its first pass, so an event
        committed after start() returns is picked up without waiting for the poll interval.
        """
        if self._task is None:
            self._stopping = False
            self._first_pass_done.clear()
            self._task = asyncio.create_task(self.run(), name=f"outbox-relay:{self._schema}")
            first_pass = asyncio.create_task(self._first_pass_done.wait())
            await asyncio.wait({first_pass, self._task}, return_when=asyncio.FIRST_COMPLETED)
            first_pass.cancel()

    def liveness_problem(self) -> str | None:
        """Why the relay loop is not running (for `/healthz`), or None while it runs."""
        task = self._task
        if task is None:
            return "the outbox relay is not running"
        if task.done():
            error = None if task.cancelled() else task.exception()
            return f"the outbox relay stopped: {type(error).__name__}: {error}"
        started = self._batch_started
        if started is not None and time.monotonic() - started > self.batch_deadline:
            return (
                f"the outbox relay is wedged: its batch has run {time.monotonic() - started:.0f}"
                f" s (deadline {self.batch_deadline:g} s)"
            )
        return None

    async def stop(self) -> None:
        """Finish the current batch, then end the loop."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            # A loop that already died (its failure is what /healthz reported) must not make
            # the shutdown of everything after it fail too.
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
            if isinstance(outcome, BaseException):
                log.warning("outbox %s: the relay had stopped: %r", self._schema, outcome)

    async def run(self) -> None:
        if self._wake_on_notify:
            await self._ensure_listening()
        failures = 0
        try:
            while not self._stopping:
                self._batch_started = time.monotonic()
                try:
                    result = await self.relay_once()
                except Exception:
                    log.exception("outbox %s: relay batch failed", self._schema)
                    result = BatchResult(claimed=0, published=0, broker_failed=True)
                finally:
                    self._batch_started = None
                failures = failures + 1 if result.broker_failed else 0
                self._first_pass_done.set()
                if result.claimed >= self._batch_size and not result.broker_failed:
                    continue  # more rows are probably waiting
                await self._sleep(self._delay_after(failures))
        finally:
            await self._close_listener()

    def _delay_after(self, consecutive_failures: int) -> float:
        if consecutive_failures == 0:
            return self._poll_interval
        return min(self._poll_interval * 2.0**consecutive_failures, self._max_backoff)

    async def _sleep(self, seconds: float) -> None:
        """Until a NOTIFY, `seconds`, or the LISTEN connection coming back after it dropped."""
        deadline = time.monotonic() + seconds
        while not self._stopping:
            remaining = deadline - time.monotonic()
            listening = not self._wake_on_notify or self._listening()
            # While LISTEN is down, wake every second or so to try it again.
            step = remaining if listening else min(remaining, LISTEN_RETRY_SECONDS)
            if step <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=step)
            if self._wake.is_set():
                break
            if not listening and await self._ensure_listening():
                break  # Postgres is back: relay what waited now, not after the back-off
        self._wake.clear()

    def _listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    async def _ensure_listening(self) -> bool:
        """(Re-)open the LISTEN connection if it is down; whether it was reopened now.

        Polling alone still works without it; it only makes events leave sooner.
        """
        if self._listening():
            return False
        await self._close_listener()
        engine = self._sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            return False
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            connection = await asyncpg.connect(dsn, timeout=LISTEN_CONNECT_TIMEOUT_SECONDS)
            await connection.add_listener(notify_channel(self._schema), self._on_notify)
            # A dropped connection wakes the loop, whose sleep then retries LISTEN.
            connection.add_termination_listener(self._on_notify)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            # Once per outage, not once per retry.
            level = logging.DEBUG if self._listen_failed else logging.WARNING
            log.log(level, "outbox %s: LISTEN unavailable, polling: %s", self._schema, exc)
            self._listen_failed = True
            return False
        self._listen_failed = False
        self._listener = connection
        self.listens_since += 1
        if self.listens_since > 1:
            log.info("outbox %s: LISTEN re-established", self._schema)
        return True

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):  # a dropped connection may fail to close
                await listener.close(timeout=2)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
