"""Outbox bench: queued outbound messages sent per second by one sender (``OutboxDelivery.send_due``, the
sender loop) on SQLite, PostgreSQL and Redis, against a fake Cloud API in its own process, rate limit off,
next to a raw ceiling measured in the same run; and the store round trips an agent's reply adds.

    uv run python benches/outbox/bench.py                     # every store that answers
    uv run python benches/outbox/bench.py --messages 5000 --concurrency 32
    uv run python benches/outbox/bench.py --stores postgresql

* **sender**: ``--messages`` text messages queued in the store's outbox (not timed), then ``send_due`` called
  until none is left: for each message a claim (compare-and-set ``queued`` -> ``sending``, one unit of work),
  the HTTP request through :class:`CloudApiSender` (no resilient wrapper: no retry, breaker or throughput
  limit), and the outcome saved (``sent`` with its wamid, one unit of work); ``--concurrency`` requests in
  flight at once.
* **raw ceiling**: the same number of requests, same bodies and concurrency, through the same kind of httpx
  client, with no store at all: the fake API and HTTP are the ceiling.

Round trips per reply are counted, not timed: the statements a reply's unit of work runs on SQL (``Transaction``
calls, commit included) before and after this change, and the store calls of the claim and of the outcome.
Nothing is asserted. Goal printed beside PostgreSQL: >= 1,000 sends/s with one sender.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import httpx
from redis.asyncio import Redis

from dispatcher_adapters.memory import MemoryEventBus, SystemClock
from dispatcher_adapters.redis import RedisStore
from dispatcher_adapters.redis.maintenance import delete_prefix
from dispatcher_adapters.sql import SqlStore
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_adapters.whatsapp.cloud_api import CloudApiSender
from dispatcher_adapters.whatsapp.delivery import OutboxDelivery
from dispatcher_core import DispatcherOrchestrator, IncomingMessage
from dispatcher_core.messaging.event_dispatcher import EventDispatcher
from dispatcher_core.messaging.outbound import OutboundMessage, TextContent
from dispatcher_core.messaging.outbox_store import UnitOfWorkOutbox
from dispatcher_core.ports import UnitOfWorkFactory

NUMBER = "15550001111"
GOAL_POSTGRES = 1_000.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def fake_api() -> AsyncIterator[str]:
    port = _free_port()
    script = Path(__file__).with_name("fake_cloud_api.py")
    process = subprocess.Popen([sys.executable, str(script), str(port)])  # noqa: ASYNC220  # started once, not awaited
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    await client.post(f"http://127.0.0.1:{port}/v21.0/{NUMBER}/messages", json={"to": "1"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v21.0"
    finally:
        process.terminate()
        process.wait()


def _message(index: int, now_id: str) -> OutboundMessage:
    return OutboundMessage.queue(
        id=f"{now_id}-{index}",
        business_number_id=NUMBER,
        to="33612345678",
        content=TextContent(f"bench message {index}"),
        now=datetime.now(UTC),
    )


async def sender_rate(uow_factory: UnitOfWorkFactory, base_url: str, messages: int, concurrency: int) -> float:
    run = uuid.uuid4().hex[:8]
    batch = 200
    for start in range(0, messages, batch):
        async with uow_factory() as uow:
            for index in range(start, min(start + batch, messages)):
                await uow.outbox.add(_message(index, run))
            await uow.commit()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        delivery = OutboxDelivery(
            outbox=UnitOfWorkOutbox(uow_factory),
            sender=CloudApiSender(client, access_token="bench", base_url=base_url),
            events=EventDispatcher(),
            clock=SystemClock(),
            default_number_id=NUMBER,
        )
        started = time.perf_counter()
        sent = 0
        while sent < messages:
            moved = await delivery.send_due(limit=max(concurrency * 8, 100), concurrency=concurrency)
            if moved == 0:
                break
            sent += moved
        elapsed = time.perf_counter() - started
    return sent / elapsed


async def raw_rate(base_url: str, messages: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(index: int) -> None:
            body = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "33612345678",
                "biz_opaque_callback_data": f"raw-{index}",
                "type": "text",
                "text": {"body": f"bench message {index}", "preview_url": False},
            }
            async with gate:
                response = await client.post(f"{base_url}/{NUMBER}/messages", json=body)
                response.json()

        started = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(messages)))
        return messages / (time.perf_counter() - started)


class _Counting:
    """Counts the statements a SQL unit of work runs (reads, writes, commit)."""

    def __init__(self) -> None:
        self.count = 0
        self._originals: dict[str, Callable[..., object]] = {}

    def __enter__(self) -> _Counting:
        for name in ("fetch", "write", "commit"):
            original = getattr(Transaction, name)
            self._originals[name] = original

            def counted(tx: Transaction, *args: object, _original: Callable[..., object] = original) -> object:
                self.count += 1
                return _original(tx, *args)

            setattr(Transaction, name, counted)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            setattr(Transaction, name, original)


async def sql_round_trips(store: SqlStore) -> tuple[int, int, int, int]:
    """(statements of the old reply path, of the new one, of a claim, of an outcome) on ``store``."""
    clock = SystemClock()
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=MemoryEventBus(), clock=clock)
    await orchestrator.handle_agent_connected("agent-rt", "socket")
    customer = uuid.uuid4().hex[:10]
    outcome = await orchestrator.handle_incoming_message(
        IncomingMessage(business_number_id=NUMBER, customer_id=customer, external_id=f"w-{customer}", text="hi")
    )
    assert outcome.conversation_id is not None
    conversation_id = outcome.conversation_id
    with _Counting() as old:
        await orchestrator.handle_agent_replied("agent-rt", conversation_id)

    def build(conversation: object, now: object) -> OutboundMessage:
        assert isinstance(now, datetime)
        return OutboundMessage.queue(
            id=uuid.uuid4().hex,
            business_number_id=NUMBER,
            to="33612345678",
            content=TextContent("hello"),
            now=now,
            conversation_id=conversation_id,
            agent_id="agent-rt",
            client_id=uuid.uuid4().hex,
        )

    with _Counting() as new:
        reply = await orchestrator.handle_agent_reply("agent-rt", conversation_id, build)
    outbox = UnitOfWorkOutbox(store.unit_of_work)
    with _Counting() as claim:
        sending = await outbox.save(reply.message.start_sending(clock.now()))
    with _Counting() as settle:
        await outbox.save(sending.mark_sent("wamid.rt", clock.now(), 1))
    return old.count, new.count, claim.count, settle.count


@asynccontextmanager
async def stores(names: list[str], postgres_url: str, redis_url: str) -> AsyncIterator[list[tuple[str, object]]]:
    opened: list[tuple[str, object]] = []
    cleanups: list[Callable[[], object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if "sqlite" in names:
                opened.append(("sqlite", await SqlStore.create(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")))
            if "postgresql" in names:
                database = f"bench_outbox_{uuid.uuid4().hex[:8]}"
                admin = await asyncpg.connect(postgres_url)
                await admin.execute(f'CREATE DATABASE "{database}"')
                await admin.close()
                url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
                opened.append(("postgresql", await SqlStore.create(url, migrate=True, pool_size=20)))

                async def drop() -> None:
                    admin = await asyncpg.connect(postgres_url)
                    await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                    await admin.close()

                cleanups.append(drop)
            if "redis" in names:
                client = Redis.from_url(redis_url, decode_responses=True)
                prefix = f"bench-outbox-{uuid.uuid4().hex[:8]}"
                opened.append(("redis", RedisStore(client, prefix=prefix)))

                async def forget() -> None:
                    await delete_prefix(client, prefix)
                    await client.aclose()

                cleanups.append(forget)
            yield opened
        finally:
            for _, store in opened:
                if isinstance(store, SqlStore):
                    await store.close()
            for cleanup in reversed(cleanups):
                result = cleanup()
                if asyncio.iscoroutine(result):
                    await result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--stores", default="sqlite,postgresql,redis")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {args.messages} messages, concurrency {args.concurrency}")
    async with fake_api() as base_url, stores(args.stores.split(","), args.postgres_url, args.redis_url) as opened:
        raw = max([await raw_rate(base_url, args.messages, args.concurrency) for _ in range(args.repeats)])
        print(f"raw ceiling (HTTP to the fake Cloud API, no store): {raw:,.0f} sends/s")
        print(f"{'store':<12}{'sends/s':>10}{'% of raw':>10}")
        for name, store in opened:
            factory: UnitOfWorkFactory = store.unit_of_work  # type: ignore[attr-defined]  # every store has one
            rate = max(
                [await sender_rate(factory, base_url, args.messages, args.concurrency) for _ in range(args.repeats)]
            )
            goal = ""
            if name == "postgresql":
                goal = f"   goal >= {GOAL_POSTGRES:,.0f}/s: {'met' if rate >= GOAL_POSTGRES else 'NOT met'}"
            print(f"{name:<12}{rate:>10,.0f}{rate / raw:>10.0%}{goal}")
        for name, store in opened:
            if isinstance(store, SqlStore):
                old, new, claim, settle = await sql_round_trips(store)
                print(
                    f"{name}: a reply's unit of work runs {new} statements (was {old} without the outbox: "
                    f"+{new - old}); the claim {claim}, the outcome {settle} (each its own transaction)"
                )


if __name__ == "__main__":
    asyncio.run(main())
