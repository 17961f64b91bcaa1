"""What the conformance suite does not reach: the commit script itself, lost connections, an unreachable
server, tenants sharing one server, and slot claims racing."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from dispatcher_adapters.redis import RedisStore, delete_prefix
from dispatcher_adapters.redis.plan import CommitPlan
from dispatcher_adapters.redis.scripts import Scripts
from dispatcher_core.entities import AgentPresence
from dispatcher_core.errors import ConcurrencyConflict, InvalidInput, StoreUnavailable
from dispatcher_core.testing.conformance._support import at, conversation, message, pending

from .conftest import kill_connections, new_prefix

pytestmark = pytest.mark.redis


async def test_a_commit_sent_twice_applies_once(redis_client: Redis, store: RedisStore) -> None:
    """The commit's token makes a resend after a lost reply harmless (and answered as a success)."""
    keys = store.keys
    plan = CommitPlan()
    plan.check("get0", "conflict", "queue", keys.queue_version, "0")
    plan.write("ZADDSEQ", keys.queue_seq, "a1", keys.queue)
    plan.write("INCR", keys.queue_version)
    script_keys, args = plan.encode(keys.commit_token("fixed"), 60)
    scripts = Scripts.register(redis_client)
    assert await scripts.commit(keys=script_keys, args=args) == ["ok"]
    assert await scripts.commit(keys=script_keys, args=args) == ["applied"]
    assert await redis_client.get(keys.queue_version) == "1"
    assert await redis_client.zrange(keys.queue, 0, -1, withscores=True) == [("a1", 1.0)]
    # a different token with the same (now stale) precondition is a conflict and changes nothing
    other_keys, other_args = plan.encode(keys.commit_token("other"), 60)
    assert await scripts.commit(keys=other_keys, args=other_args) == ["conflict", "queue"]
    assert await redis_client.get(keys.queue_version) == "1"


async def test_a_conflict_anywhere_applies_nothing(store: RedisStore) -> None:
    conv = conversation("c1")
    async with store.unit_of_work() as uow:
        await uow.conversations.add(conv)
        await uow.queue.add("a1")
        await uow.commit()
    async with store.unit_of_work() as late, store.unit_of_work() as early:
        stale = await late.conversations.get(conv.id)
        assert stale is not None
        msg = message(conv, "wamid.1")
        assert await late.conversations.add_message(msg)
        await late.pending.add(pending(msg))
        await late.queue.move_to_end("a1")
        await late.presence.save(AgentPresence.offline("a2", at(0)))
        assert await late.slots.claim("job", "slot", at(0))
        await late.conversations.save(replace(stale, customer_name="late"))
        # meanwhile another unit of work commits a change to the same conversation
        await early.conversations.save(replace(stale, customer_name="early"))
        await early.commit()
        with pytest.raises(ConcurrencyConflict):
            await late.commit()
    async with store.unit_of_work() as uow:
        stored = await uow.conversations.get(conv.id)
        assert stored is not None
        assert (stored.customer_name, stored.version) == ("early", 1)
        assert await uow.conversations.get_messages(conv.id) == []
        assert await uow.pending.count() == 0
        assert await uow.presence.get("a2") is None
        assert await uow.slots.claim("job", "slot", at(0))  # the conflicting claim was released


async def test_a_killed_connection_between_read_and_commit_loses_nothing(
    redis_url: str, redis_client: Redis, prefix: str
) -> None:
    client = Redis.from_url(redis_url, decode_responses=True, client_name=f"{prefix}-store")
    try:
        store = RedisStore(client, prefix=prefix)
        conv = conversation("c1")
        async with store.unit_of_work() as uow:
            assert await uow.conversations.get_open_by_key("bn1", "c1") is None
            await uow.conversations.add(conv)
            assert await uow.conversations.add_message(message(conv, "wamid.1"))
            assert await kill_connections(redis_client, f"{prefix}-store") >= 1
            await uow.commit()
        async with store.unit_of_work() as uow:
            assert await uow.conversations.get_open_by_key("bn1", "c1") == conv
            assert len(await uow.conversations.get_messages(conv.id)) == 1
    finally:
        await client.aclose()


async def test_an_unreachable_server_is_store_unavailable(prefix: str) -> None:
    client = Redis(host="127.0.0.1", port=1, decode_responses=True, retry=Retry(NoBackoff(), 0))
    try:
        store = RedisStore(client, prefix=prefix, commit_attempts=2)
        with pytest.raises(StoreUnavailable):
            async with store.unit_of_work() as uow:
                await uow.conversations.get("x")
        with pytest.raises(StoreUnavailable):
            async with store.unit_of_work() as uow:
                await uow.conversations.add(conversation("c1"))
                await uow.commit()
    finally:
        await client.aclose()


async def test_prefixes_are_separate_tenants(redis_client: Redis, prefix: str) -> None:
    other_prefix = new_prefix()
    mine, theirs = RedisStore(redis_client, prefix=prefix), RedisStore(redis_client, prefix=other_prefix)
    try:
        for store, customer in ((mine, "c1"), (theirs, "c2")):
            async with store.unit_of_work() as uow:
                await uow.conversations.add(conversation(customer))
                await uow.queue.add(customer)
                await uow.commit()
        async with mine.unit_of_work() as uow:
            assert [c.customer_id for c in await uow.conversations.list()] == ["c1"]
            assert list(await uow.queue.list()) == ["c1"]
        assert await delete_prefix(redis_client, other_prefix) > 0
        async with mine.unit_of_work() as uow:
            assert [c.customer_id for c in await uow.conversations.list()] == ["c1"]
        async with theirs.unit_of_work() as uow:
            assert await uow.conversations.list() == []
    finally:
        await delete_prefix(redis_client, other_prefix)


async def test_bad_configuration_is_refused(redis_url: str, redis_client: Redis) -> None:
    raw = Redis.from_url(redis_url)
    try:
        with pytest.raises(InvalidInput, match="decode_responses"):
            RedisStore(raw)
    finally:
        await raw.aclose()
    for bad in ("", "has space", "star*"):
        with pytest.raises(InvalidInput):
            RedisStore(redis_client, prefix=bad)
    with pytest.raises(InvalidInput):
        RedisStore(redis_client, commit_attempts=0)


async def test_list_rejects_negative_paging(store: RedisStore) -> None:
    async with store.unit_of_work() as uow:
        with pytest.raises(InvalidInput):
            await uow.conversations.list(limit=-1)
        with pytest.raises(InvalidInput):
            await uow.conversations.list(offset=-1)


async def test_a_claimer_waits_for_an_uncommitted_claim_then_loses(store: RedisStore) -> None:
    async with store.unit_of_work() as first:
        assert await first.slots.claim("job", "slot", at(0))
        second = store.unit_of_work()
        async with second:
            contender = asyncio.create_task(second.slots.claim("job", "slot", at(0)))
            await asyncio.sleep(0)  # let it find the tentative claim
            assert not contender.done()
            await first.commit()
            assert await contender is False


async def test_a_claimer_waits_for_an_uncommitted_claim_then_wins_on_rollback(store: RedisStore) -> None:
    first = store.unit_of_work()
    async with first:
        assert await first.slots.claim("job", "slot", at(0))
        async with store.unit_of_work() as second:
            contender = asyncio.create_task(second.slots.claim("job", "slot", at(0)))
            await asyncio.sleep(0)
            await first.rollback()
            assert await contender is True
            await second.commit()
    async with store.unit_of_work() as third:
        assert not await third.slots.claim("job", "slot", at(0))


async def test_a_dead_claimers_tentative_claim_expires(redis_client: Redis, store: RedisStore) -> None:
    """A process that died between claim and commit does not keep the slot from ever running."""
    await redis_client.set(store.keys.slot("job", "slot"), "tentative:dead-process", px=1)
    async with store.unit_of_work() as uow:
        assert await uow.slots.claim("job", "slot", at(0))
        await uow.commit()
    assert str(await redis_client.get(store.keys.slot("job", "slot"))).startswith("claimed:")
    assert await redis_client.ttl(store.keys.slot("job", "slot")) > 6 * 24 * 3600


async def test_duplicates_from_another_process_in_each_dedup_mode(redis_client: Redis, prefix: str) -> None:
    """Two stores on one prefix stand for two processes. "check" answers False at the call; "at_commit"
    lets the commit catch it (ConcurrencyConflict), then answers False. Either way it is stored once."""
    conv = conversation("c1")
    first = RedisStore(redis_client, prefix=prefix)
    async with first.unit_of_work() as uow:
        await uow.conversations.add(conv)
        assert await uow.conversations.add_message(message(conv, "wamid.1"))
        await uow.commit()

    checking = RedisStore(redis_client, prefix=prefix, dedup="check")
    async with checking.unit_of_work() as uow:
        assert not await uow.conversations.add_message(message(conv, "wamid.1"))

    lazy = RedisStore(redis_client, prefix=prefix, dedup="at_commit")
    with pytest.raises(ConcurrencyConflict):
        async with lazy.unit_of_work() as uow:
            assert await uow.conversations.add_message(message(conv, "wamid.1"))
            await uow.commit()
    async with lazy.unit_of_work() as uow:
        assert not await uow.conversations.add_message(message(conv, "wamid.1"))
    async with first.unit_of_work() as uow:
        assert len(await uow.conversations.get_messages(conv.id)) == 1
