"""Receiving the events of every instance from PostgreSQL: one listener connection per app instance.

:class:`PostgresEventSubscriber` keeps one dedicated connection (not from the pool) that ``LISTEN``\\s on the
event channel (:mod:`~dispatcher_adapters.sql.events`). Each notification is a pointer to the rows one
committed transaction wrote, or the events themselves when they fit (:mod:`~dispatcher_adapters.sql.events`);
the subscriber reads the rows pointed at (notifications that arrived together: one query) and:

* an event for an agent watched here numbered ``last + 1`` -> ``on_agent_event``; an older one -> dropped
  (already covered by the agent's ``hello``); a jump -> ``resync(agent_id)`` instead, so the agent's sockets
  here are rebuilt from the store, which is the truth and at least as new as that event;
* every event -> ``on_admin_event`` (the admin stream of this instance);
* rows that are gone (pruned before they were read) -> every watched agent is resynchronised.

:meth:`~PostgresEventSubscriber.watch` reads the agent's counter while the connection already listens, so an
event committed after that read is always notified here, and one committed before it is in the ``hello``.

Losing the connection (a network blip, ``pg_terminate_backend``, a PostgreSQL restart) is noticed at once
(asyncpg's termination callback) or at the next idle tick; the subscriber reconnects with exponential backoff
(up to ``max_reconnect_delay``), listens again, re-reads every watched agent's counter and calls ``resync``
for each (and ``on_admin_resync``): notifications sent while it was away are lost by PostgreSQL, so every
local socket gets a fresh ``hello``, never a silent gap. A resync that fails (the store is down too) is
retried on the next idle tick. At the same tick, every ``prune_interval``, rows older than ``retention`` are
deleted (any instance may; deleting is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

from dispatcher_adapters.event_wire import load_event
from dispatcher_adapters.sql.errors import translate_if_driver_error
from dispatcher_adapters.sql.events import CHANNEL
from dispatcher_core.errors import InvalidInput, StoreUnavailable
from dispatcher_core.events import DomainEvent

__all__ = ["PgEventEnvelope", "PostgresEventSubscriber"]

_log = logging.getLogger(__name__)

_READ = (
    "SELECT id, agent_id, seq, payload FROM dispatcher_events"
    " WHERE id BETWEEN $1 AND $2 AND tx = ANY($3::bigint[]) ORDER BY id"
)
_COUNTER = "SELECT last_seq FROM dispatcher_event_counters WHERE agent_id = $1"
_PRUNE = "DELETE FROM dispatcher_events WHERE created_at < now() - $1::interval"


@dataclass(frozen=True, slots=True)
class PgEventEnvelope:
    """An event as received: ``agent_id`` and ``seq`` are set for events sent to an agent."""

    agent_id: str | None
    seq: int | None
    event: DomainEvent


Handler = Callable[[PgEventEnvelope], Awaitable[None]]
Connect = Callable[[], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class _Pointer:
    tx: int
    first: int
    last: int
    count: int

    @classmethod
    def parse(cls, payload: str) -> _Pointer | None:
        try:
            tx, first, last, count = (int(part) for part in payload.split(":"))
        except ValueError:
            return None
        return cls(tx, first, last, count)


class PostgresEventSubscriber:
    def __init__(
        self,
        connect: Connect,
        *,
        on_agent_event: Handler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: Handler | None = None,
        on_admin_resync: Callable[[], Awaitable[None]] | None = None,
        channel: str = CHANNEL,
        poll_interval: float = 0.5,
        max_reconnect_delay: float = 2.0,
        retention: timedelta = timedelta(minutes=5),
        prune_interval: float = 30.0,
    ) -> None:
        """``connect`` opens a new asyncpg connection to the store's database (:meth:`SqlStore.event_subscriber`
        gives it). ``on_admin_event`` (optional) receives every event of every instance, ``on_admin_resync`` is
        called after the listener reconnected."""
        self._connect = connect
        self._on_agent_event = on_agent_event
        self._resync = resync
        self._on_admin_event = on_admin_event
        self._on_admin_resync = on_admin_resync
        self._channel = channel
        self._poll = poll_interval
        self._max_delay = max_reconnect_delay
        self._retention = retention
        self._prune_interval = prune_interval
        self._conn: Any = None
        self._io = asyncio.Lock()  # one query at a time on the listener connection
        self._notes: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._watchers: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._admin_dirty = False
        self._next_prune = 0.0
        self._next_idle = 0.0
        #: counters, for metrics and tests
        self.reconnections = 0
        self.resyncs = 0
        self.gaps = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, ``LISTEN``, and start the reader task. :class:`StoreUnavailable` if PostgreSQL cannot be
        reached."""
        if self._task is not None:
            return
        await self._open()
        self._next_prune = time.monotonic() + self._prune_interval * random.uniform(0.5, 1.0)
        self._task = asyncio.create_task(self._read_forever(), name="postgres-event-subscriber")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drop_connection()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listener connection (``pg_terminate_backend`` it to test a loss)."""
        return None if self._conn is None or self._conn.is_closed() else int(self._conn.get_server_pid())

    # ------------------------------------------------------------------ agents

    async def watch(self, agent_id: str) -> int:
        """Receive ``agent_id``'s events on this instance (counted: call once per socket). Returns the agent's
        number when the watch began: the caller builds the socket's ``hello`` from the store after this, and
        every later event has a greater number."""
        if self._task is None:
            raise RuntimeError("PostgresEventSubscriber.watch() before start()")
        if not agent_id:
            raise InvalidInput("agent id must be a non-empty string")
        self._watchers[agent_id] = self._watchers.get(agent_id, 0) + 1
        if agent_id in self._last:
            return self._last[agent_id]
        try:
            return await self._read_counter(agent_id)
        except StoreUnavailable:
            await self.unwatch(agent_id)
            raise

    async def unwatch(self, agent_id: str) -> None:
        """One socket of ``agent_id`` closed here; the last one stops its delivery."""
        count = self._watchers.get(agent_id, 0) - 1
        if count > 0:
            self._watchers[agent_id] = count
            return
        self._watchers.pop(agent_id, None)
        self._last.pop(agent_id, None)
        self._dirty.discard(agent_id)

    def last_seq(self, agent_id: str) -> int | None:
        """The last sequence number delivered (or resynchronised to) for ``agent_id`` here."""
        return self._last.get(agent_id)

    # ------------------------------------------------------------------ the connection

    async def _open(self) -> None:
        try:
            conn = await self._connect()
        except Exception as exc:
            raise _unavailable(exc) from exc
        try:
            await conn.add_listener(self._channel, self._on_notification)
            conn.add_termination_listener(self._on_termination)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
            raise _unavailable(exc) from exc
        self._conn = conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._notes.put_nowait(payload)

    def _on_termination(self, _conn: Any) -> None:
        self._notes.put_nowait(None)  # wakes the reader, which finds the connection closed

    def _connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _query(self, sql: str, *args: Any) -> list[Any]:
        if not self._connected():
            raise StoreUnavailable("the event listener is not connected")
        async with self._io:
            try:
                rows: list[Any] = await self._conn.fetch(sql, *args)
            except Exception as exc:
                raise _unavailable(exc) from exc
        return rows

    async def _reconnect(self) -> None:
        """Until connected again, with backoff; then every watched agent (and the admin stream) resyncs."""
        await self._drop_connection()
        delay = 0.05
        while True:
            try:
                await self._open()
            except StoreUnavailable as exc:
                _log.warning("event listener cannot reach PostgreSQL (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self._max_delay)
                continue
            break
        self.reconnections += 1
        _log.warning("event listener reconnected: resynchronising %d agents", len(self._watchers))
        # Notifications queued before the loss point at rows the resync covers anyway.
        while not self._notes.empty():
            self._notes.get_nowait()
        self._dirty.update(self._watchers)
        self._admin_dirty = self._on_admin_resync is not None
        await self._retry_dirty()

    # ------------------------------------------------------------------ the reader task

    async def _read_forever(self) -> None:
        while True:
            try:
                try:
                    first = await asyncio.wait_for(self._notes.get(), self._poll)
                except TimeoutError:
                    first = None
                if not self._connected():
                    await self._reconnect()
                    continue
                payloads = [first] if first is not None else []
                while not self._notes.empty():
                    note = self._notes.get_nowait()
                    if note is not None:
                        payloads.append(note)
                if payloads:
                    await self._deliver(payloads)
                if not payloads or time.monotonic() >= self._next_idle:  # also under a steady stream
                    self._next_idle = time.monotonic() + self._poll
                    await self._idle()
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:
                _log.warning("event listener lost PostgreSQL (%s)", exc)
                await self._drop_connection()
            except Exception:  # a bug in one batch's handling must not stop the stream
                _log.exception("event listener failed on a batch")

    async def _idle(self) -> None:
        await self._retry_dirty()
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._prune_interval
            await self._query(_PRUNE, self._retention)

    async def _deliver(self, payloads: list[str]) -> None:
        """Notifications in arrival order (= commit order): runs of inline ones are handled as they are, runs
        of pointers with one query each."""
        rows: list[tuple[str | None, int | None, Any]] = []
        pointers: list[_Pointer] = []
        for payload in payloads:
            if payload.startswith("i"):
                if pointers:
                    rows += await self._read(pointers)
                    pointers = []
                rows += [(agent_id, seq, event) for agent_id, seq, event in json.loads(payload[1:])]
            elif (pointer := _Pointer.parse(payload)) is not None:
                pointers.append(pointer)
        if pointers:
            rows += await self._read(pointers)
        await self._dispatch(rows)

    async def _read(self, pointers: list[_Pointer]) -> list[tuple[str | None, int | None, Any]]:
        rows = await self._query(
            _READ, min(p.first for p in pointers), max(p.last for p in pointers), [p.tx for p in pointers]
        )
        if len(rows) < sum(p.count for p in pointers):
            # Pruned before we read them (this instance was stalled for longer than the retention).
            self.gaps += 1
            self._dirty.update(self._watchers)
        return [(agent_id, seq, payload) for _id, agent_id, seq, payload in rows]

    async def _dispatch(self, rows: list[tuple[str | None, int | None, Any]]) -> None:
        for agent_id, seq, payload in rows:
            event: DomainEvent | None = None
            if self._on_admin_event is not None:
                event = load_event(payload)
                await self._call(self._on_admin_event(PgEventEnvelope(agent_id, seq, event)))
            if agent_id is None or seq is None:
                continue
            last = self._last.get(agent_id)
            if last is None or agent_id in self._dirty or seq <= last:
                continue  # not watched here, waiting for a resync that covers it, or already covered
            if seq > last + 1:
                self.gaps += 1
                self._last[agent_id] = seq
                await self._resync_agent(agent_id)
                continue
            self._last[agent_id] = seq
            event = event or load_event(payload)
            await self._call(self._on_agent_event(PgEventEnvelope(agent_id, seq, event)))
        await self._retry_dirty()

    async def _read_counter(self, agent_id: str) -> int:
        rows = await self._query(_COUNTER, agent_id)
        number = int(rows[0][0]) if rows else 0
        self._last[agent_id] = number
        return number

    async def _resync_agent(self, agent_id: str) -> None:
        self.resyncs += 1
        try:
            await self._resync(agent_id)
        except Exception:  # the store may be down too: try again on the next idle tick
            _log.exception("resync of agent %s failed; will retry", agent_id)
            self._dirty.add(agent_id)
        else:
            self._dirty.discard(agent_id)

    async def _retry_dirty(self) -> None:
        if self._admin_dirty and self._on_admin_resync is not None:
            self._admin_dirty = False
            await self._call(self._on_admin_resync())
        for agent_id in list(self._dirty):
            if agent_id not in self._watchers:
                self._dirty.discard(agent_id)
                continue
            await self._read_counter(agent_id)  # StoreUnavailable: the reader reconnects, then tries again
            await self._resync_agent(agent_id)

    @staticmethod
    async def _call(call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:  # a subscriber's bug must not stop delivery to the others
            _log.exception("event handler failed")


def _unavailable(exc: BaseException) -> StoreUnavailable:
    translated = translate_if_driver_error(exc) if isinstance(exc, Exception) else None
    if isinstance(translated, StoreUnavailable):
        return translated
    return StoreUnavailable(f"event listener: {exc}")
