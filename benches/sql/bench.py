"""SQL bench: customer messages per second through the dispatcher on SQLite and PostgreSQL, next to a raw
ceiling measured in the same run.

    uv run python benches/sql/bench.py                      # SQLite, and PostgreSQL if it answers
    uv run python benches/sql/bench.py --messages 5000 --repeats 5
    uv run python benches/sql/bench.py --postgres-url postgresql://postgres@127.0.0.1:5432/postgres
    uv run python benches/sql/bench.py --no-postgres

Workload (same for both sides): ``--agents`` agents online; ``--messages`` customer messages, one after the
other, from ``--customers`` customers. A customer's first message opens a conversation and assigns it (queue
locked and rotated, history read: the ASSIGN path); the following ones go to the same agent (the KEEP path).

* **dispatcher**: ``DispatcherOrchestrator.handle_incoming_message`` on :class:`SqlStore` (SQLAlchemy Core
  over aiosqlite / asyncpg), events to a publisher that drops them, the real clock.
* **raw ceiling**: the driver alone (aiosqlite / asyncpg with prepared statements, one connection) running the
  statements the adapter runs for the same message, in one transaction each: the same round trips, the same
  commit, no domain objects, no SQLAlchemy, no decision code.

On PostgreSQL the bench also runs with the **event transport of PostgreSQL alone** (``carry_events=True``: the
cycle's events written, numbered and announced by ``NOTIFY`` in its transaction, and read back by a listener
in this process watching every agent, as an instance holding their sockets would): its share of the same raw
ceiling is the cost of the transport ("after", against "before" without it), and a second raw ceiling that
runs the same event statement shows the share on equal round trips. It prints the round trips per message
(statements on the connection, ``BEGIN`` and ``COMMIT`` included) counted on the adapter's driver.

Each side runs on its own freshly migrated database; rounds alternate between the sides (tables emptied before
each round, not timed) and the best round of each side is kept. Also printed: the median CPU time of this
process per message (the database server's is not counted), which moves less than wall-clock rates on a busy
machine. Nothing is asserted: figures depend on the machine and on what else runs on it. The goal printed
beside PostgreSQL is >= 60 % of the raw ceiling (msg/s).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dispatcher_adapters.memory import SystemClock
from dispatcher_adapters.sql import SqlStore, upgrade
from dispatcher_adapters.sql.drivers import AsyncpgDriver
from dispatcher_adapters.sql.tables import metadata
from dispatcher_core import DispatcherOrchestrator, IncomingMessage
from dispatcher_core.events import DomainEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for the sibling module

from benches.sql.raw import RawPostgres, RawSqlite

GOAL_POSTGRES_SHARE = 0.60
BUSINESS = "bench-business"


class DropEvents:
    """An EventPublisher that keeps nothing: the bench measures the store, not subscribers."""

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Workload:
    agents: int
    customers: int
    messages: int

    def incoming(self, round_number: int) -> list[IncomingMessage]:
        return [
            IncomingMessage(
                business_number_id=BUSINESS,
                customer_id=f"customer-{n % self.customers:05d}",
                external_id=f"wamid.r{round_number}.{n:07d}",
                text="hello",
            )
            for n in range(self.messages)
        ]


@dataclass(frozen=True, slots=True)
class Round:
    rate: float  # messages per second, wall clock
    cpu_us: float  # CPU time of this process per message (the database server's is not counted)


@dataclass(frozen=True, slots=True)
class Result:
    backend: str
    dispatcher: list[Round]
    raw: list[Round]
    with_events: list[Round] | None = None
    raw_with_events: list[Round] | None = None

    @staticmethod
    def best(rounds: list[Round]) -> float:
        return max(r.rate for r in rounds)

    @staticmethod
    def cpu(rounds: list[Round]) -> float:
        return statistics.median(r.cpu_us for r in rounds)

    @property
    def share(self) -> float:
        return self.best(self.dispatcher) / self.best(self.raw)


async def _empty(store: SqlStore) -> None:
    async with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())


async def _timed(messages: list[IncomingMessage], handle: Callable[[IncomingMessage], Awaitable[object]]) -> Round:
    started, cpu = time.perf_counter(), time.process_time()
    for incoming in messages:
        await handle(incoming)
    return Round(
        rate=len(messages) / (time.perf_counter() - started),
        cpu_us=(time.process_time() - cpu) / len(messages) * 1e6,
    )


class Delivered:
    """The listener's handler: counts what reached the "sockets" of this process."""

    def __init__(self, expected: int) -> None:
        self.count = 0
        self.expected = expected
        self.all_in = asyncio.Event()

    async def on_agent_event(self, envelope: object) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.all_in.set()

    async def resync(self, agent_id: str) -> None:
        return None


async def dispatcher_round(store: SqlStore, workload: Workload, round_number: int) -> Round:
    await _empty(store)
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=DropEvents(), clock=SystemClock())
    agents = [f"agent-{agent}" for agent in range(workload.agents)]
    for agent in agents:
        await orchestrator.handle_agent_connected(agent, "socket")
    if not store.carries_events:
        return await _timed(workload.incoming(round_number), orchestrator.handle_incoming_message)
    delivered = Delivered(workload.messages)
    async with store.event_subscriber(on_agent_event=delivered.on_agent_event, resync=delivered.resync) as listener:
        for agent in agents:
            await listener.watch(agent)
        result = await _timed(workload.incoming(round_number), orchestrator.handle_incoming_message)
        await delivered.all_in.wait()  # every event read back (not timed: the last ones trail the commits)
    return result


async def raw_round(raw: RawSqlite | RawPostgres, workload: Workload, round_number: int) -> Round:
    await raw.reset([f"agent-{agent}" for agent in range(workload.agents)])
    return await _timed(workload.incoming(round_number), lambda incoming: raw.handle(incoming, datetime.now(UTC)))


async def compare(
    backend: str,
    dispatcher_url: str,
    raw: RawSqlite | RawPostgres,
    workload: Workload,
    repeats: int,
    *,
    raw_with_events: RawPostgres | None = None,
) -> Result:
    """Rounds alternate between the sides (in a rotating order), so that a burst of load from elsewhere on the
    machine hits all of them rather than one. With ``raw_with_events``, the dispatcher also runs with the
    PostgreSQL event transport, against both ceilings."""
    store = await SqlStore.create(dispatcher_url, migrate=True)
    with_events = await SqlStore.create(dispatcher_url, carry_events=True) if raw_with_events is not None else None
    rounds: dict[str, list[Round]] = {"dispatcher": [], "raw": [], "events": [], "raw_events": []}
    sides: list[tuple[str, Callable[[int], Awaitable[Round]]]] = [
        ("raw", lambda n: raw_round(raw, workload, n)),
        ("dispatcher", lambda n: dispatcher_round(store, workload, n)),
    ]
    if with_events is not None and raw_with_events is not None:
        sides += [
            ("raw_events", lambda n: raw_round(raw_with_events, workload, n)),
            ("events", lambda n: dispatcher_round(with_events, workload, n)),
        ]
    try:
        for round_number in range(repeats):
            shift = round_number % len(sides)
            for name, run in sides[shift:] + sides[:shift]:
                rounds[name].append(await run(round_number))
    finally:
        if with_events is not None:
            await with_events.close()
        await store.close()
    return Result(
        backend,
        rounds["dispatcher"],
        rounds["raw"],
        rounds["events"] or None,
        rounds["raw_events"] or None,
    )


async def round_trips(url: str, carry_events: bool) -> tuple[int, int]:
    """Statements sent on the connection (``BEGIN`` and ``COMMIT`` included) for one ASSIGN and one KEEP."""
    counted = [0]
    originals = {name: getattr(AsyncpgDriver, name) for name in ("begin", "commit", "fetch", "execute")}

    def counting(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any) -> Any:
            counted[0] += 1
            return await original(*args)

        return call

    store = await SqlStore.create(url, carry_events=carry_events)
    try:
        await _empty(store)
        orchestrator = DispatcherOrchestrator(
            uow_factory=store.unit_of_work, publisher=DropEvents(), clock=SystemClock()
        )
        await orchestrator.handle_agent_connected("agent-0", "socket")
        for name, original in originals.items():
            setattr(AsyncpgDriver, name, counting(original))
        try:
            counts = []
            for n in range(2):  # the first message assigns, the second is kept
                counted[0] = 0
                await orchestrator.handle_incoming_message(
                    IncomingMessage(business_number_id=BUSINESS, customer_id="rt", external_id=f"wamid.rt.{n}")
                )
                counts.append(counted[0])
        finally:
            for name, original in originals.items():
                setattr(AsyncpgDriver, name, original)
    finally:
        await store.close()
    return counts[0], counts[1]


async def bench_sqlite(workload: Workload, repeats: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="dispatcher-bench-") as directory:
        dispatcher_url = f"sqlite+aiosqlite:///{Path(directory) / 'dispatcher.sqlite3'}"
        raw_path = Path(directory) / "raw.sqlite3"
        await upgrade(f"sqlite+aiosqlite:///{raw_path}")
        raw = await RawSqlite.connect(raw_path)
        try:
            return await compare("SQLite", dispatcher_url, raw, workload, repeats)
        finally:
            await raw.close()


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(
        make_url(server_url).set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def bench_postgres(server_url: str, workload: Workload, repeats: int) -> Result:
    names = [f"dsql_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    urls = [make_url(server_url).set(drivername="postgresql+asyncpg", database=name) for name in names]
    for name in names:
        await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        await upgrade(urls[1])
        raw_url = urls[1].set(drivername="postgresql").render_as_string(False)
        raw = await RawPostgres.connect(raw_url)
        try:
            url = urls[0].render_as_string(False)
            result = await compare("PostgreSQL", url, raw, workload, repeats, raw_with_events=raw.with_events())
            before, after = await round_trips(url, False), await round_trips(url, True)
            print(
                f"round trips per message on PostgreSQL (ASSIGN, KEEP): {before[0]}, {before[1]} without the event "
                f"transport; {after[0]}, {after[1]} with it (+{after[0] - before[0]}, +{after[1] - before[1]})"
            )
            return result
        finally:
            await raw.close()
    finally:
        for name in names:
            await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000, help="messages per round (default 3000)")
    parser.add_argument("--customers", type=int, default=600, help="distinct customers (default 600)")
    parser.add_argument("--agents", type=int, default=5, help="agents online (default 5)")
    parser.add_argument("--repeats", type=int, default=4, help="rounds per side, best kept (default 4)")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if min(args.messages, args.customers, args.agents, args.repeats) < 1:
        parser.error("--messages, --customers, --agents and --repeats must be >= 1")
    workload = Workload(agents=args.agents, customers=args.customers, messages=args.messages)
    print(
        f"{args.messages:,} messages from {args.customers:,} customers ({args.customers:,} assign + "
        f"{max(args.messages - args.customers, 0):,} keep), {args.agents} agents, best of {args.repeats}; "
        f"Python {platform.python_version()}, {platform.machine()}"
    )
    runs: list[Callable[[], Coroutine[Any, Any, Result]]] = [lambda: bench_sqlite(workload, args.repeats)]
    if args.no_postgres:
        pass
    elif _reachable(args.postgres_url):
        runs.append(lambda: bench_postgres(args.postgres_url, workload, args.repeats))
    else:
        print(f"PostgreSQL at {args.postgres_url} does not answer: skipped (--no-postgres to silence)")
    print(
        f"\n{'backend':<11} {'dispatcher msg/s':>17} {'raw ceiling msg/s':>18} {'share of raw':>13}"
        f" {'dispatcher cpu us/msg':>22} {'raw cpu us/msg':>15}"
    )
    for run in runs:
        result = asyncio.run(run())
        print(
            f"{result.backend:<11} {result.best(result.dispatcher):>17,.0f} {result.best(result.raw):>18,.0f}"
            f" {result.share:>12.0%} {result.cpu(result.dispatcher):>22,.0f} {result.cpu(result.raw):>15,.0f}"
        )
        if result.with_events is not None and result.raw_with_events is not None:
            events_best = result.best(result.with_events)
            print(
                f"{'+ events':<11} {events_best:>17,.0f} {result.best(result.raw):>18,.0f}"
                f" {events_best / result.best(result.raw):>12.0%} {result.cpu(result.with_events):>22,.0f}"
                f" {result.cpu(result.raw):>15,.0f}   (PostgreSQL alone carrying the events, same raw ceiling)"
            )
            print(
                f"{'+ events':<11} {events_best:>17,.0f} {result.best(result.raw_with_events):>18,.0f}"
                f" {events_best / result.best(result.raw_with_events):>12.0%}"
                f" {result.cpu(result.with_events):>22,.0f} {result.cpu(result.raw_with_events):>15,.0f}"
                "   (raw ceiling running the event statement too)"
            )
        if result.backend == "PostgreSQL":
            verdict = "met" if result.share >= GOAL_POSTGRES_SHARE else "NOT met"
            print(f"{'':<11} goal >= {GOAL_POSTGRES_SHARE:.0%} of the raw ceiling on PostgreSQL: {verdict}")
            if result.with_events is not None:
                share = result.best(result.with_events) / result.best(result.raw)
                verdict = "met" if share >= GOAL_POSTGRES_SHARE else "NOT met"
                print(f"{'':<11} with the event transport, against the same ceiling: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
