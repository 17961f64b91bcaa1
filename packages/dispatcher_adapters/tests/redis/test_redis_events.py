"""Cross-instance events over Redis pub/sub: per-agent sequence numbers, the admin stream, gaps and lost
connections (``CLIENT KILL``) answered by a resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from dispatcher_adapters.redis import EventEnvelope, RedisEventPublisher, RedisEventSubscriber
from dispatcher_core.entities import Message, MessageDirection, QueuePosition
from dispatcher_core.errors import InvalidInput
from dispatcher_core.events import (
    ConversationAssigned,
    ConversationPending,
    DomainEvent,
    MessageReceived,
    QueueUpdated,
)

from .conftest import kill_connections

pytestmark = pytest.mark.redis

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOUND = 10.0  # seconds: only a bound so a broken test fails instead of hanging, never a timing assertion


def received(agent: str, n: int) -> MessageReceived:
    message = Message(
        id=f"m{n}",
        conversation_id="conv-1",
        business_number_id="bn",
        external_id=f"wamid.{n}",
        direction=MessageDirection.INBOUND,
        kind="text",
        text=f"hello {n}",
        received_at=NOW,
    )
    return MessageReceived("conv-1", agent, message)


def assigned(agent: str) -> ConversationAssigned:
    return ConversationAssigned(
        conversation_id="conv-1",
        agent_id=agent,
        business_number_id="bn",
        customer_id="c1",
        customer_name="Ada",
        messages=(received(agent, 0).message,),
        reason="new",
        at=NOW,
    )


class Recorder:
    """The subscriber's handlers: what was delivered and which agents were resynchronised, as queues."""

    def __init__(self) -> None:
        self.agent: asyncio.Queue[EventEnvelope] = asyncio.Queue()
        self.admin: asyncio.Queue[EventEnvelope] = asyncio.Queue()
        self.resyncs: asyncio.Queue[str] = asyncio.Queue()
        self.admin_resyncs = 0

    async def on_agent(self, envelope: EventEnvelope) -> None:
        await self.agent.put(envelope)

    async def on_admin(self, envelope: EventEnvelope) -> None:
        await self.admin.put(envelope)

    async def resync(self, agent_id: str) -> None:
        await self.resyncs.put(agent_id)

    async def on_admin_resync(self) -> None:
        self.admin_resyncs += 1

    async def next_agent(self) -> EventEnvelope:
        return await asyncio.wait_for(self.agent.get(), BOUND)

    async def next_admin(self) -> EventEnvelope:
        return await asyncio.wait_for(self.admin.get(), BOUND)

    async def next_resync(self) -> str:
        return await asyncio.wait_for(self.resyncs.get(), BOUND)


@pytest.fixture
async def sub_client(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True, client_name=f"{prefix}-sub")
    yield client
    await client.aclose()


@pytest.fixture
async def pub_client(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True, client_name=f"{prefix}-pub")
    yield client
    await client.aclose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def subscriber(sub_client: Redis, prefix: str, recorder: Recorder) -> AsyncIterator[RedisEventSubscriber]:
    async with RedisEventSubscriber(
        sub_client,
        prefix=prefix,
        on_agent_event=recorder.on_agent,
        resync=recorder.resync,
        on_admin_event=recorder.on_admin,
        on_admin_resync=recorder.on_admin_resync,
        poll_interval=0.05,
    ) as subscriber:
        yield subscriber


@pytest.fixture
def publisher(pub_client: Redis, prefix: str) -> RedisEventPublisher:
    return RedisEventPublisher(pub_client, prefix=prefix)


async def test_agent_events_are_numbered_per_agent_and_the_admin_stream_gets_everything(
    subscriber: RedisEventSubscriber, publisher: RedisEventPublisher, recorder: Recorder
) -> None:
    assert await subscriber.watch("a1") == 0
    queue = QueueUpdated((QueuePosition("a2", 1),))
    events: list[DomainEvent] = [assigned("a1"), queue, received("a1", 1), assigned("a2")]
    await publisher.publish(events)

    first, second = await recorder.next_agent(), await recorder.next_agent()
    assert (first.agent_id, first.seq, first.event) == ("a1", 1, events[0])
    assert (second.agent_id, second.seq, second.event) == ("a1", 2, events[2])
    admin = [await recorder.next_admin() for _ in events]
    assert [(e.agent_id, e.seq, e.event) for e in admin] == [
        ("a1", 1, events[0]),
        (None, None, events[1]),
        ("a1", 2, events[2]),
        ("a2", 1, events[3]),
    ]
    assert recorder.agent.empty()  # a2 is not watched here
    assert subscriber.last_seq("a1") == 2


async def test_a_second_watch_gets_the_current_number(
    subscriber: RedisEventSubscriber, publisher: RedisEventPublisher, recorder: Recorder
) -> None:
    await publisher.publish([received("a1", 1), received("a1", 2)])
    assert await subscriber.watch("a1") == 2
    await publisher.publish([received("a1", 3)])
    assert (await recorder.next_agent()).seq == 3
    assert await subscriber.watch("a1") == 3


async def test_a_gap_resyncs_the_agent_instead_of_delivering(
    subscriber: RedisEventSubscriber, publisher: RedisEventPublisher, recorder: Recorder, redis_client: Redis
) -> None:
    await subscriber.watch("a1")
    await publisher.publish([received("a1", 1)])
    assert (await recorder.next_agent()).seq == 1
    await redis_client.hincrby(publisher.keys.event_seq("a1"), "n", 1)  # number 2 is lost on the way
    await publisher.publish([received("a1", 3)])
    await publisher.publish([received("a1", 4)])

    assert await recorder.next_resync() == "a1"
    after = await recorder.next_agent()
    assert (after.seq, after.event) == (4, received("a1", 4))
    assert recorder.resyncs.empty()
    assert subscriber.gaps == 1


async def test_a_killed_connection_is_reestablished_and_the_agent_resynced(
    subscriber: RedisEventSubscriber,
    publisher: RedisEventPublisher,
    recorder: Recorder,
    redis_client: Redis,
    prefix: str,
) -> None:
    await subscriber.watch("a1")
    await subscriber.watch("a2")
    await publisher.publish([received("a1", 1)])
    assert (await recorder.next_agent()).seq == 1

    assert await kill_connections(redis_client, f"{prefix}-sub") >= 1
    await publisher.publish([received("a1", 2)])  # may be lost while the subscriber is disconnected

    assert sorted([await recorder.next_resync(), await recorder.next_resync()]) == ["a1", "a2"]
    assert subscriber.reconnections == 1
    assert recorder.admin_resyncs == 1
    # The watched agents and their numbers survived: the next event is delivered in sequence. Number 2 is
    # either covered by the resync (published before it) or delivered after it, never both, never out of order.
    await publisher.publish([received("a1", 3)])
    seqs: list[int | None] = []
    while not seqs or seqs[-1] != 3:
        envelope = await recorder.next_agent()
        assert envelope.agent_id == "a1"
        seqs.append(envelope.seq)
    assert seqs in ([2, 3], [3])
    assert subscriber.last_seq("a1") == 3


async def test_the_publisher_survives_a_killed_connection_and_publishes_once(
    subscriber: RedisEventSubscriber,
    publisher: RedisEventPublisher,
    recorder: Recorder,
    redis_client: Redis,
    prefix: str,
) -> None:
    await subscriber.watch("a1")
    await publisher.publish([received("a1", 1)])
    assert (await recorder.next_agent()).seq == 1
    assert await kill_connections(redis_client, f"{prefix}-pub") >= 1
    await publisher.publish([received("a1", 2)])
    assert (await recorder.next_agent()).seq == 2
    assert publisher.failed_batches == 0
    assert await redis_client.hget(publisher.keys.event_seq("a1"), "n") == "2"


async def test_unwatch_counts_sockets(
    subscriber: RedisEventSubscriber, publisher: RedisEventPublisher, recorder: Recorder
) -> None:
    await subscriber.watch("a1")
    await subscriber.watch("a1")
    await subscriber.watch("a2")
    await subscriber.unwatch("a1")
    await publisher.publish([received("a1", 1)])
    assert (await recorder.next_agent()).agent_id == "a1"
    await subscriber.unwatch("a1")
    await publisher.publish([received("a1", 2), received("a2", 1)])
    # a1's event would have arrived first: the first one delivered is a2's
    assert (await recorder.next_agent()).agent_id == "a2"
    assert subscriber.last_seq("a1") is None


async def test_publishing_with_redis_down_is_logged_not_raised(prefix: str) -> None:
    client = Redis(host="127.0.0.1", port=1, decode_responses=True, retry=Retry(NoBackoff(), 0))
    try:
        publisher = RedisEventPublisher(client, prefix=prefix, attempts=2)
        await publisher.publish([ConversationPending("conv-1", NOW)])
        assert publisher.failed_batches == 1
    finally:
        await client.aclose()


async def test_misuse_is_refused(redis_url: str, prefix: str, recorder: Recorder) -> None:
    raw = Redis.from_url(redis_url)
    try:
        with pytest.raises(InvalidInput, match="decode_responses"):
            RedisEventSubscriber(raw, prefix=prefix, on_agent_event=recorder.on_agent, resync=recorder.resync)
    finally:
        await raw.aclose()
    decoded = Redis.from_url(redis_url, decode_responses=True)
    try:
        subscriber = RedisEventSubscriber(
            decoded, prefix=prefix, on_agent_event=recorder.on_agent, resync=recorder.resync
        )
        with pytest.raises(RuntimeError, match="before start"):
            await subscriber.watch("a1")
        with pytest.raises(InvalidInput):
            RedisEventPublisher(decoded, prefix="bad prefix")
    finally:
        await decoded.aclose()


async def test_a_counter_that_starts_again_resyncs_the_agent(
    subscriber: RedisEventSubscriber, publisher: RedisEventPublisher, recorder: Recorder, redis_client: Redis
) -> None:
    """A lost counter (flushed, evicted) restarts at 1: those numbers are not 'old', they are a new epoch."""
    await subscriber.watch("a1")
    for n in range(1, 4):
        await publisher.publish([received("a1", n)])
    assert [(await recorder.next_agent()).seq for _ in range(3)] == [1, 2, 3]
    await redis_client.delete(publisher.keys.event_seq("a1"))
    await publisher.publish([received("a1", 4)])  # numbered 1 in a new epoch
    assert await recorder.next_resync() == "a1"
    await publisher.publish([received("a1", 5)])
    after = await recorder.next_agent()
    assert (after.seq, after.event) == (2, received("a1", 5))
    assert subscriber.last_seq("a1") == 2
