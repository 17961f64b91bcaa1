"""Events through PostgreSQL alone (``carry_events=True``): the event port's conformance suite, plus what is
particular to this transport - numbering in the committing transaction, pointers under the NOTIFY limit,
pruning, and SQLite refusing to carry events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest

from dispatcher_adapters.sql import PostgresEventSubscriber, SqlStore
from dispatcher_core.errors import InvalidInput
from dispatcher_core.events import DomainEvent
from dispatcher_core.ports import EnvelopeHandler, EventSubscriber
from dispatcher_core.testing.conformance import EventProbe, EventTransportConformance, EventTransportHarness
from dispatcher_core.testing.conformance.event_transport import assigned, eventually

from .conftest import NewDatabase, _plain

pytestmark = pytest.mark.postgres


class PostgresHarness:
    can_lose_connection = True

    def __init__(self, store: SqlStore, url: str, **options: Any) -> None:
        self.store = store
        self.url = url
        self._options = options

    async def commit(self, events: Sequence[DomainEvent]) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.events.record(events)
            await uow.commit()

    async def roll_back(self, events: Sequence[DomainEvent]) -> None:
        async with self.store.unit_of_work() as uow:
            await uow.events.record(events)

    def subscriber(
        self,
        *,
        on_agent_event: EnvelopeHandler,
        resync: Callable[[str], Awaitable[None]],
        on_admin_event: EnvelopeHandler,
        on_admin_resync: Callable[[], Awaitable[None]],
    ) -> EventSubscriber:
        return self.store.event_subscriber(
            on_agent_event=on_agent_event,
            resync=resync,
            on_admin_event=on_admin_event,
            on_admin_resync=on_admin_resync,
            **self._options,
        )

    async def lose_connection(self, subscriber: EventSubscriber) -> None:
        assert isinstance(subscriber, PostgresEventSubscriber)
        pid = subscriber.backend_pid
        assert pid is not None
        conn = await asyncpg.connect(_plain(self.url))
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await conn.close()


@pytest.fixture
async def pg_events(new_pg_database: NewDatabase) -> AsyncIterator[PostgresHarness]:
    url = await new_pg_database()
    store = await SqlStore.create(url, carry_events=True)
    yield PostgresHarness(store, url, poll_interval=0.05)
    await store.close()


class TestPostgresEventTransport(EventTransportConformance):
    @pytest.fixture
    async def transport(self, pg_events: PostgresHarness) -> EventTransportHarness:
        return pg_events


async def test_numbers_are_written_with_the_events_and_the_pointer_stays_small(pg_events: PostgresHarness) -> None:
    many = [assigned(f"agent-{i % 7}") for i in range(500)]  # a release of hundreds of conversations at once
    await pg_events.commit(many)
    conn = await asyncpg.connect(_plain(pg_events.url))
    try:
        rows = await conn.fetch("SELECT agent_id, seq FROM dispatcher_events ORDER BY id")
        counters = dict(await conn.fetch("SELECT agent_id, last_seq FROM dispatcher_event_counters"))
    finally:
        await conn.close()
    per_agent: dict[str, list[int]] = {}
    for agent_id, seq in rows:
        per_agent.setdefault(agent_id, []).append(seq)
    assert {agent: seqs == list(range(1, len(seqs) + 1)) for agent, seqs in per_agent.items()} == dict.fromkeys(
        per_agent, True
    )
    assert counters == {agent: len(seqs) for agent, seqs in per_agent.items()}
    # the 500 events still arrive through one small notification
    probe = EventProbe()
    probe.subscriber = pg_events.subscriber(
        on_agent_event=probe.on_agent_event,
        resync=probe.resync,
        on_admin_event=probe.on_admin_event,
        on_admin_resync=probe.on_admin_resync,
    )
    async with probe.subscriber:  # type: ignore[attr-defined]  # PostgresEventSubscriber is a context manager
        await probe.subscriber.watch("agent-0")
        await pg_events.commit(many)
        await eventually(lambda: len(probe.admin) == 500)
        assert [seq for seq, _ in probe.of("agent-0")] == list(range(73, 145))


async def test_small_batches_travel_in_the_notification_without_rows(pg_events: PostgresHarness) -> None:
    probe = EventProbe()
    probe.subscriber = pg_events.subscriber(
        on_agent_event=probe.on_agent_event,
        resync=probe.resync,
        on_admin_event=probe.on_admin_event,
        on_admin_resync=probe.on_admin_resync,
    )
    async with probe.subscriber:  # type: ignore[attr-defined]  # PostgresEventSubscriber is a context manager
        await probe.subscriber.watch("jo")
        small = [assigned("jo"), assigned("jo")]
        await pg_events.commit(small)
        await pg_events.commit([assigned("jo") for _ in range(100)])  # then a pointer, in commit order
        await pg_events.commit([assigned("jo")])
        await eventually(lambda: len(probe.of("jo")) == 103)
    assert [seq for seq, _ in probe.of("jo")] == list(range(1, 104))
    assert probe.of("jo")[:2] == [(1, small[0].conversation_id), (2, small[1].conversation_id)]
    assert probe.resyncs == []
    conn = await asyncpg.connect(_plain(pg_events.url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM dispatcher_events") == 100  # only the big batch
    finally:
        await conn.close()


async def test_old_rows_are_pruned(new_pg_database: NewDatabase) -> None:
    url = await new_pg_database()
    store = await SqlStore.create(url, carry_events=True)
    try:
        harness = PostgresHarness(store, url)
        await harness.commit([assigned("hal") for _ in range(100)])  # too big to travel inline: rows
        probe = EventProbe()
        subscriber = store.event_subscriber(
            on_agent_event=probe.on_agent_event,
            resync=probe.resync,
            poll_interval=0.02,
            retention=timedelta(0),
            prune_interval=0.0,
        )
        conn = await asyncpg.connect(_plain(url))
        try:
            async with subscriber:
                for _ in range(500):
                    if await conn.fetchval("SELECT count(*) FROM dispatcher_events") == 0:
                        break
                    await asyncio.sleep(0.02)
                assert await conn.fetchval("SELECT count(*) FROM dispatcher_events") == 0
                assert await conn.fetchval("SELECT last_seq FROM dispatcher_event_counters") == 100
        finally:
            await conn.close()
    finally:
        await store.close()


async def test_sqlite_refuses_to_carry_events(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="PostgreSQL"):
        await SqlStore.create(f"sqlite+aiosqlite:///{tmp_path}/one.sqlite3", carry_events=True)


async def test_a_store_without_events_writes_none(new_pg_database: NewDatabase) -> None:
    url = await new_pg_database()
    pg_store = await SqlStore.create(url)
    try:
        async with pg_store.unit_of_work() as uow:
            await uow.events.record([assigned("ivy")])
            await uow.commit()
    finally:
        await pg_store.close()
    conn = await asyncpg.connect(_plain(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM dispatcher_events") == 0
    finally:
        await conn.close()
    with pytest.raises(InvalidInput):
        pg_store.event_subscriber(on_agent_event=EventProbe().on_agent_event, resync=EventProbe().resync)
