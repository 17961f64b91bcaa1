"""Failures: driver errors reach callers as the core's errors, and no unit of work ever applies part of its
writes - whether the database refused a statement, the server went away, or another process held the lock."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from dispatcher_adapters.sql import SqlStore
from dispatcher_adapters.sql.errors import translate
from dispatcher_core.entities import AgentPresence, Conversation
from dispatcher_core.errors import ConcurrencyConflict, InvalidInput, StoreUnavailable
from dispatcher_core.testing.conformance._support import at, conversation, message

NewDatabase = Callable[[], Awaitable[str]]


class _PgError(Exception):
    """Stands for an asyncpg error as SQLAlchemy hands it over: only its SQLSTATE matters."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sa_exc.OperationalError("UPDATE", {}, _PgError("40001")), ConcurrencyConflict),
        (sa_exc.OperationalError("UPDATE", {}, _PgError("40P01")), ConcurrencyConflict),
        (sa_exc.IntegrityError("INSERT", {}, _PgError("23505")), ConcurrencyConflict),
        (sa_exc.IntegrityError("INSERT", {}, _PgError("23503")), InvalidInput),
        (sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked")), ConcurrencyConflict),
        (sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")), StoreUnavailable),
        (sa_exc.InterfaceError("SELECT", {}, _PgError("08006")), StoreUnavailable),
        (ConnectionRefusedError(111, "refused"), StoreUnavailable),
        (TimeoutError(), StoreUnavailable),
        # refusals of the data itself are never an outage (I10)
        (_PgError("22021"), InvalidInput),  # NUL character in text
        (_PgError("22001"), InvalidInput),  # value too long for a column
        (_PgError("22000"), InvalidInput),  # asyncpg could not encode an argument (a lone surrogate)
        (_PgError("54000"), InvalidInput),  # index row larger than a page allows
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), InvalidInput),
        (sa_exc.DataError("INSERT", {}, sqlite3.DataError("string or blob too big")), InvalidInput),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), InvalidInput),
        (_PgError("08006"), StoreUnavailable),  # connection failure stays an outage
    ],
)
def test_driver_errors_are_translated(error: BaseException, expected: type[Exception]) -> None:
    translated = translate(error)
    assert type(translated) is expected


@pytest.mark.postgres
async def test_unreachable_postgres_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        await SqlStore.create("postgresql://postgres@127.0.0.1:1/nothing_listens_here")


async def _assert_nothing_partial(store: SqlStore) -> None:
    """A conversation, a presence and a message for an unknown conversation (the database refuses it):
    the refusal is InvalidInput, commit is refused, and neither of the accepted writes is applied."""
    conv = conversation("c1")
    orphan = message(conversation("ghost"), "wamid.orphan")
    async with store.unit_of_work() as uow:
        await uow.conversations.add(conv)
        await uow.presence.save(AgentPresence.offline("a1", at(0)))
        with pytest.raises(InvalidInput, match="refused"):
            await uow.conversations.add_message(orphan)
        with pytest.raises(InvalidInput):
            await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.conversations.get(conv.id) is None
        assert await uow.presence.get("a1") is None


async def test_a_refused_statement_spoils_the_unit_of_work_on_sqlite(sqlite_store: SqlStore) -> None:
    await _assert_nothing_partial(sqlite_store)


@pytest.mark.postgres
async def test_a_refused_statement_spoils_the_unit_of_work_on_postgres(pg_store: SqlStore) -> None:
    await _assert_nothing_partial(pg_store)


async def test_naive_datetimes_are_refused_before_anything_is_written(sqlite_store: SqlStore) -> None:
    naive = replace(conversation("c1"), opened_at=datetime(2026, 1, 1))
    async with sqlite_store.unit_of_work() as uow:
        with pytest.raises(InvalidInput, match="timezone-aware"):
            await uow.conversations.add(naive)
        with pytest.raises(InvalidInput, match="timezone-aware"):
            await uow.slots.claim("job", "slot", datetime(2026, 1, 1))
        await uow.commit()  # the unit of work is still usable: nothing reached the database
    async with sqlite_store.unit_of_work() as uow:
        assert await uow.conversations.list() == []
        assert await uow.slots.claim("job", "slot", at(0))


async def test_a_committed_unit_of_work_accepts_no_more_writes(sqlite_store: SqlStore) -> None:
    conv = conversation("c1")
    async with sqlite_store.unit_of_work() as uow:
        await uow.conversations.add(conv)
        await uow.commit()
        with pytest.raises(InvalidInput, match="no more writes"):
            await uow.queue.add("a1")
        assert await uow.conversations.get(conv.id) == conv  # reads still work
    async with sqlite_store.unit_of_work() as uow:
        assert await uow.queue.list() == []


async def test_bad_limits_are_refused(sqlite_store: SqlStore) -> None:
    async with sqlite_store.unit_of_work() as uow:
        with pytest.raises(InvalidInput):
            await uow.conversations.list_pending(limit=-1)
        with pytest.raises(InvalidInput):
            await uow.conversations.list(offset=-5)
        with pytest.raises(InvalidInput):
            await uow.pending.list(limit=-2)


async def test_another_process_holding_the_sqlite_lock_is_a_retryable_conflict(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    store = await SqlStore.create(f"sqlite:///{path}", busy_timeout_ms=50)
    other = sqlite3.connect(path, isolation_level=None)  # stands for another process on the same file
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(ConcurrencyConflict):
            async with store.unit_of_work() as uow:
                await uow.queue.add("a1")
        other.execute("ROLLBACK")
        async with store.unit_of_work() as uow:
            assert await uow.queue.add("a1")
            await uow.commit()
        async with store.unit_of_work() as uow:
            assert await uow.queue.list() == ["a1"]
    finally:
        other.close()
        await store.close()


async def test_a_cancelled_unit_of_work_releases_the_sqlite_writer_lock(sqlite_store: SqlStore) -> None:
    entered = asyncio.Event()

    async def stuck() -> None:
        async with sqlite_store.unit_of_work() as uow:
            await uow.queue.add("a1")
            entered.set()
            await asyncio.Event().wait()  # never set: only cancellation ends this

    task = asyncio.create_task(stuck())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Guard against a hang only (a lock never released would block forever); not a timing assertion.
    async with asyncio.timeout(30), sqlite_store.unit_of_work() as uow:
        assert await uow.queue.list() == []


async def test_two_engines_on_one_sqlite_file_serialize_through_the_file_lock(sqlite_url: str) -> None:
    """Two stores on one file behave like two processes: their units of work wait on each other (busy
    timeout) and the unique keys still hold."""
    first, second = await SqlStore.create(sqlite_url), await SqlStore.create(sqlite_url)
    conv = conversation("c1")
    async with first.unit_of_work() as uow:
        await uow.conversations.add(conv)
        await uow.commit()
    try:

        async def add(store: SqlStore, index: int) -> bool:
            for _ in range(100):
                try:
                    async with store.unit_of_work() as uow:
                        added = await uow.conversations.add_message(message(conv, f"wamid.{index % 10}"))
                        await uow.queue.add(f"agent-{index}")
                        await uow.commit()
                        return added
                except ConcurrencyConflict:
                    await asyncio.sleep(0.001)
            raise AssertionError("too many conflicts")

        results = await asyncio.gather(*(add(first if i % 2 else second, i) for i in range(40)))
        assert sum(results) == 10
        async with first.unit_of_work() as uow:
            assert len(await uow.conversations.get_messages(conv.id)) == 10
            assert len(await uow.queue.list()) == 40
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_a_deadlock_is_reported_as_a_conflict_and_nothing_of_the_loser_is_applied(pg_store: SqlStore) -> None:
    a, b = conversation("ca"), conversation("cb")
    async with pg_store.unit_of_work() as uow:
        await uow.conversations.add(a)
        await uow.conversations.add(b)
        await uow.commit()
    both_hold_one = asyncio.Barrier(2)

    async def cross(first: Conversation, second: Conversation, agent: str) -> str:
        async with pg_store.unit_of_work() as uow:
            await uow.conversations.save(first.assign_to(agent, at(1)))
            await both_hold_one.wait()
            await uow.conversations.save(second.assign_to(agent, at(1)))
            await uow.commit()
        return agent

    outcomes = await asyncio.gather(cross(a, b, "x"), cross(b, a, "y"), return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    async with pg_store.unit_of_work() as uow:
        stored = [await uow.conversations.get(a.id), await uow.conversations.get(b.id)]
    assert {c.agent_id for c in stored if c is not None} == set(winners)


@pytest.mark.postgres
async def test_a_lost_connection_is_store_unavailable_then_the_store_recovers(pg_store: SqlStore) -> None:
    database = make_url(pg_store.engine.url).database
    async with pg_store.unit_of_work() as uow:
        await uow.queue.add("a1")
        await uow.commit()
    admin = await asyncpg.connect(
        make_url(pg_store.engine.url).set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        with pytest.raises(StoreUnavailable):
            async with pg_store.unit_of_work() as uow:
                await uow.queue.add("a2")
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
                await uow.queue.add("a3")
                await uow.commit()
    finally:
        await admin.close()
    await pg_store.ping()
    async with pg_store.unit_of_work() as uow:
        assert await uow.queue.list() == ["a1"]


def test_rows_are_read_by_position_so_tables_follow_the_entities_field_order() -> None:
    from dataclasses import fields

    from dispatcher_adapters.sql.tables import conversations, messages, pending_messages, presence
    from dispatcher_core.entities import Message, PendingMessage

    def columns(table: sa.Table) -> list[str]:
        return [column.key for column in table.c if column.key != "seq"]

    assert columns(conversations) == [f.name for f in fields(Conversation)]
    assert columns(messages) == [f.name for f in fields(Message)]
    assert columns(pending_messages) == [f.name for f in fields(PendingMessage)]
    assert columns(presence) == [f.name for f in fields(AgentPresence)]


@pytest.mark.parametrize("url", ["memory://", "mysql://user@host/db", "redis://127.0.0.1:6379/0", "not a url"])
async def test_unsupported_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(InvalidInput, match="database URL"):
        await SqlStore.create(url)


@pytest.mark.postgres
async def test_a_statement_stuck_behind_a_lock_times_out_as_store_unavailable(new_pg_database: NewDatabase) -> None:
    """An instance stuck while holding the queue lock does not stall the others forever."""
    store = await SqlStore.create(await new_pg_database(), statement_timeout_ms=200)
    holding, release = asyncio.Event(), asyncio.Event()

    async def stuck_holder() -> None:
        async with store.unit_of_work() as uow:
            await uow.queue.add("a1")  # takes the queue lock
            holding.set()
            await release.wait()

    holder = asyncio.create_task(stuck_holder())
    try:
        await holding.wait()
        with pytest.raises(StoreUnavailable, match="statement timeout"):
            async with store.unit_of_work() as uow:
                await uow.queue.list()
    finally:
        release.set()
        await holder
        await store.close()


async def _assert_unstorable_values_are_refused(store: SqlStore) -> None:
    """Values the database cannot keep as they are (what the domain refuses before any store sees it, sent
    here straight to the repository) are ``InvalidInput``, nothing is applied, and the store goes on working."""
    conv = conversation("c-bad")
    bad = [
        replace(message(conv, "wamid.nul"), text="a\x00b"),
        replace(message(conv, "wamid.surrogate"), text="\ud800"),
        # longer than an index entry may be, and not compressible to fit
        message(conv, "wamid.long-" + "".join(uuid.uuid4().hex for _ in range(400))),
    ]
    for refused in bad:
        async with store.unit_of_work() as uow:
            await uow.conversations.add(conv)
            with pytest.raises(InvalidInput):  # at the statement, or at commit when writes are batched
                await uow.conversations.add_message(refused)
                await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.conversations.get(conv.id) is None
        await uow.conversations.add(conv)
        assert await uow.conversations.add_message(message(conv, "wamid.fine"))
        await uow.commit()


@pytest.mark.postgres
async def test_unstorable_values_are_invalid_input_on_postgres(pg_store: SqlStore) -> None:
    await _assert_unstorable_values_are_refused(pg_store)


async def test_unstorable_values_are_invalid_input_on_sqlite(sqlite_store: SqlStore) -> None:
    conv = conversation("c-bad")
    async with sqlite_store.unit_of_work() as uow:
        await uow.conversations.add(conv)
        with pytest.raises(InvalidInput):
            await uow.conversations.add_message(replace(message(conv, "wamid.surrogate"), text="\ud800"))
            await uow.commit()
    async with sqlite_store.unit_of_work() as uow:
        assert await uow.conversations.get(conv.id) is None
