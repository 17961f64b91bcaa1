"""Differential test: random writes, some committed and some still staged, then every read of every port,
on the Redis store and on the in-memory reference store side by side. They must answer the same.

The Redis unit of work stages its writes and lays them over what it reads from Redis (list_pending with a
limit, paged listings, loads, pending messages, the queue...); the in-memory store writes in place. This
is where the two designs could drift apart, so it is checked against the reference directly.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from dispatcher_adapters.memory import MemoryStore
from dispatcher_adapters.redis import RedisStore, delete_prefix
from dispatcher_core.entities import (
    AgentPresence,
    Conversation,
    ConversationStatus,
    Message,
    MessageDirection,
    PendingMessage,
    PresenceStatus,
)
from dispatcher_core.errors import DispatcherError
from dispatcher_core.ports import UnitOfWork
from dispatcher_core.testing.conformance._support import at

from .conftest import new_prefix

pytestmark = pytest.mark.redis

AGENTS = ("a1", "a2", "a3")
CUSTOMERS = ("c1", "c2", "c3", "c4")
Op = tuple[Any, ...]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.sampled_from(CUSTOMERS), st.sampled_from(("bn1", "bn2")), st.booleans()),
        st.tuples(st.just("assign"), st.integers(0, 9), st.sampled_from(AGENTS)),
        st.tuples(st.just("release"), st.integers(0, 9)),
        st.tuples(st.just("close"), st.integers(0, 9)),
        st.tuples(st.just("customer"), st.integers(0, 9), st.integers(0, 6), st.booleans()),
        st.tuples(st.just("reply"), st.integers(0, 9)),
        st.tuples(st.just("unpend"), st.integers(0, 9)),
        st.tuples(st.just("deliver"), st.integers(0, 9), st.sampled_from(AGENTS)),
        st.tuples(st.sampled_from(("q_add", "q_remove", "q_end")), st.sampled_from(AGENTS)),
        st.tuples(st.sampled_from(("connect", "disconnect")), st.sampled_from(AGENTS), st.sampled_from("xy")),
        st.tuples(st.just("commit")),
    ),
    max_size=40,
)


class Driver:
    """Applies the same operation to one unit of work; ids and instants depend only on the operations."""

    def __init__(self) -> None:
        self.step = 0
        self.opened: list[str] = []  # conversation ids, in opening order
        self.message_ids: list[str] = []

    async def apply(self, uow: UnitOfWork, op: Op) -> object:
        self.step += 1
        now = at(self.step)
        kind = op[0]
        if kind == "open":
            _, customer, business, pending = op
            if await uow.conversations.get_open_by_key(business, customer) is not None:
                return "exists"
            conv = Conversation.open(
                id=f"conv-{self.step:03d}", business_number_id=business, customer_id=customer, now=now
            )
            if pending:
                conv = conv.release(now)
            self.opened.append(conv.id)
            await uow.conversations.add(conv)
            return conv.id
        if kind in ("assign", "release", "close", "customer", "reply"):
            stored = await self._conversation(uow, op[1])
            if stored is None or not stored.is_open:
                return None
            conv = stored
            if kind == "assign":
                await uow.conversations.save(conv.assign_to(op[2], now))
            elif kind == "release":
                await uow.conversations.save(conv.release(now))
            elif kind == "close":
                await uow.conversations.save(conv.close(now, "test"))
            elif kind == "reply":
                await uow.conversations.save(conv.record_agent_reply(now))
            else:
                return await self._customer(uow, conv, op[2], op[3], now)
            return "saved"
        if kind == "unpend":
            items = await uow.pending.list()
            return await uow.pending.remove(items[op[1] % len(items)].id) if items else None
        if kind == "deliver":
            if not self.message_ids:
                return None
            await uow.conversations.mark_delivered([self.message_ids[op[1] % len(self.message_ids)]], op[2])
            return "delivered"
        if kind == "q_add":
            return await uow.queue.add(op[1])
        if kind == "q_remove":
            return await uow.queue.remove(op[1])
        if kind == "q_end":
            return await uow.queue.move_to_end(op[1])
        if kind in ("connect", "disconnect"):
            presence = await uow.presence.get(op[1]) or AgentPresence.offline(op[1], now)
            if kind == "connect":
                presence = presence.connect(op[2], now)
            else:
                presence = presence.disconnect(op[2], now, at(self.step + 1)).go_offline(now)
            await uow.presence.save(presence)
            return presence.status
        raise AssertionError(kind)

    async def _conversation(self, uow: UnitOfWork, index: int) -> Conversation | None:
        if not self.opened:
            return None
        return await uow.conversations.get(self.opened[index % len(self.opened)])

    async def _customer(self, uow: UnitOfWork, conv: Conversation, external: int, keep: bool, now: Any) -> object:
        message = Message(
            id=f"msg-{self.step:03d}",
            conversation_id=conv.id,
            business_number_id=conv.business_number_id,
            external_id=f"wamid.{external}",
            direction=MessageDirection.INBOUND,
            kind="text",
            text="hi",
            received_at=now,
        )
        await uow.conversations.save(conv.record_customer_message(now))
        if not await uow.conversations.add_message(message):
            return "duplicate"
        self.message_ids.append(message.id)
        if keep:
            pending = PendingMessage(f"pend-{self.step:03d}", conv.id, message.id, now)
            await uow.pending.add(pending)
        return "stored"


async def everything(uow: UnitOfWork, conversation_ids: list[str]) -> dict[str, object]:
    """Every read of every port, in a comparable form."""
    c = uow.conversations
    seen: dict[str, object] = {
        "pending": await c.list_pending(),
        "pending1": await c.list_pending(limit=1),
        "pending2": await c.list_pending(limit=2),
        "loads": dict(await c.count_active_by_agent()),
        "all": await c.list(limit=1000),
        "page": await c.list(limit=2, offset=1),
        "open": await c.list(status=ConversationStatus.OPEN, limit=3),
        "closed": await c.list(status=ConversationStatus.CLOSED),
        "timeouts": sorted(
            x.id for x in await c.list_timeout_candidates(unanswered_before=at(20), inactive_before=at(15))
        ),
        "pending_messages": await uow.pending.list(),
        "pending_messages2": await uow.pending.list(limit=2),
        "pending_count": await uow.pending.count(),
        "queue": await uow.queue.list(),
        "presence": await uow.presence.list(),
        "online": await uow.presence.list(PresenceStatus.ONLINE),
    }
    for agent in AGENTS:
        seen[f"by_agent {agent}"] = await c.list_by_agent(agent)
        seen[f"list_agent {agent}"] = await c.list(agent_id=agent)
        seen[f"presence {agent}"] = await uow.presence.get(agent)
    for customer in CUSTOMERS:
        seen[f"key {customer}"] = await c.get_open_by_key("bn1", customer)
    for cid in conversation_ids:
        seen[f"get {cid}"] = await c.get(cid)
        seen[f"messages {cid}"] = await c.get_messages(cid)
        seen[f"pending_of {cid}"] = await uow.pending.list(cid)
    return {key: list(value) if isinstance(value, list | tuple) else value for key, value in seen.items()}


async def outcome(call: Callable[[], Awaitable[object]]) -> object:
    try:
        return await call()
    except DispatcherError as exc:
        return type(exc).__name__


async def compare(url: str, operations: list[Op]) -> None:
    client = Redis.from_url(url, decode_responses=True)
    prefix = new_prefix()
    try:
        redis_store, memory_store = RedisStore(client, prefix=prefix), MemoryStore()
        redis_driver, memory_driver = Driver(), Driver()
        redis_uow, memory_uow = redis_store.unit_of_work(), memory_store.unit_of_work()
        await redis_uow.__aenter__()
        await memory_uow.__aenter__()
        for op in operations:
            if op[0] == "commit":
                await redis_uow.commit()
                await memory_uow.commit()
                await redis_uow.__aexit__(None, None, None)
                await memory_uow.__aexit__(None, None, None)
                redis_uow, memory_uow = redis_store.unit_of_work(), memory_store.unit_of_work()
                await redis_uow.__aenter__()
                await memory_uow.__aenter__()
                continue
            got = await outcome(functools.partial(redis_driver.apply, redis_uow, op))
            want = await outcome(functools.partial(memory_driver.apply, memory_uow, op))
            assert got == want, f"{op}: redis {got!r} != memory {want!r}"
        # staged writes read back the same
        assert await everything(redis_uow, redis_driver.opened) == await everything(memory_uow, memory_driver.opened)
        await redis_uow.commit()
        await memory_uow.commit()
        await redis_uow.__aexit__(None, None, None)
        await memory_uow.__aexit__(None, None, None)
        # and once committed, from a fresh unit of work
        async with redis_store.unit_of_work() as r, memory_store.unit_of_work() as m:
            assert await everything(r, redis_driver.opened) == await everything(m, memory_driver.opened)
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=ops)
def test_redis_reads_like_memory(redis_url: str, operations: list[Op]) -> None:
    asyncio.run(compare(redis_url, operations))


async def test_limited_reads_see_staged_removals(redis_url: str) -> None:
    """Limited reads fetch enough from Redis to fill the limit after this unit of work's own removals."""
    operations: list[Op] = [("open", customer, "bn1", True) for customer in CUSTOMERS]
    operations += [("customer", index, index, True) for index in range(4)]
    operations += [("commit",), ("unpend", 0), ("assign", 0, "a1"), ("close", 1), ("q_add", "a1")]
    await compare(redis_url, operations)


QUEUE_AGENTS = tuple(f"q{n}" for n in range(9))
queue_ops = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(("add", "remove", "move_to_end")), st.sampled_from(QUEUE_AGENTS)),
        st.tuples(st.just("head"), st.integers(0, 10)),
        st.tuples(st.just("list")),
        st.tuples(st.just("commit")),
    ),
    max_size=25,
)


async def compare_queues(url: str, initial: list[str], operations: list[Op]) -> None:
    """The queue read in pieces (a head of 2 at first) behaves like the whole in-memory queue."""
    client = Redis.from_url(url, decode_responses=True)
    prefix = new_prefix()
    try:
        redis_store, memory_store = RedisStore(client, prefix=prefix, prefetch_queue=2), MemoryStore()
        for store in (redis_store, memory_store):
            async with store.unit_of_work() as uow:
                for agent in initial:
                    await uow.queue.add(agent)
                await uow.commit()
        r, m = redis_store.unit_of_work(), memory_store.unit_of_work()
        await r.__aenter__()
        await m.__aenter__()
        for op in operations:
            if op[0] == "commit":
                await r.commit()
                await m.commit()
                await r.__aexit__(None, None, None)
                await m.__aexit__(None, None, None)
                r, m = redis_store.unit_of_work(), memory_store.unit_of_work()
                await r.__aenter__()
                await m.__aenter__()
                continue
            if op[0] == "head":
                got, want = list(await r.queue.head(op[1])), list(await m.queue.head(op[1]))
            elif op[0] == "list":
                got, want = list(await r.queue.list()), list(await m.queue.list())
            else:
                got, want = await getattr(r.queue, op[0])(op[1]), await getattr(m.queue, op[0])(op[1])
            assert got == want, f"{op}: redis {got!r} != memory {want!r}"
        await r.commit()
        await m.commit()
        await r.__aexit__(None, None, None)
        await m.__aexit__(None, None, None)
        async with redis_store.unit_of_work() as r, memory_store.unit_of_work() as m:
            assert list(await r.queue.list()) == list(await m.queue.list())
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=st.lists(st.sampled_from(QUEUE_AGENTS), unique=True, max_size=7), operations=queue_ops)
def test_a_queue_read_in_pieces_behaves_like_the_whole(
    redis_url: str, initial: list[str], operations: list[Op]
) -> None:
    asyncio.run(compare_queues(redis_url, initial, operations))
