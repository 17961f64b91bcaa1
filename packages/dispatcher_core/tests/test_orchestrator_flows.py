"""The flows of docs/architecture.md, end to end through the orchestrator on the memory adapters."""

from __future__ import annotations

import pytest

from dispatcher_core import AssignNewAgent, Conversation, KeepCurrentAgent, Message, Pending
from dispatcher_core.entities import ConversationStatus, PresenceStatus
from dispatcher_core.errors import ConversationAlreadyClosed, ConversationNotFound, InvalidInput, NotConversationOwner
from dispatcher_core.events import ConversationAssigned, ConversationReleased, MessageReceived, QueueUpdated

from .conftest import Harness, HarnessFactory


async def queue(h: Harness) -> list[str]:
    async with h.store.unit_of_work() as uow:
        return list(await uow.queue.list())


async def conversation(h: Harness, cid: str) -> Conversation:
    async with h.store.unit_of_work() as uow:
        found = await uow.conversations.get(cid)
    assert found is not None
    return found


async def test_pending_then_agent_connects_and_receives_history(harness: Harness) -> None:
    cid = await harness.write("alice")
    await harness.write("alice")
    async with harness.store.unit_of_work() as uow:
        assert await uow.pending.count() == 2
    assert await harness.orchestrator.handle_agent_connected("a1", "s1")
    [assigned] = harness.events("conversation.assigned")
    assert isinstance(assigned, ConversationAssigned)
    assert (assigned.agent_id, assigned.conversation_id, assigned.reason) == ("a1", cid, "pending")
    assert [m.text for m in assigned.messages] == ["from alice", "from alice"]
    assert all(m.delivered_to == "a1" for m in (await conversation_messages(harness, cid)))
    async with harness.store.unit_of_work() as uow:
        assert await uow.pending.count() == 0


async def conversation_messages(h: Harness, cid: str) -> list[Message]:
    async with h.store.unit_of_work() as uow:
        return list(await uow.conversations.get_messages(cid))


async def test_round_robin_and_stickiness(harness: Harness) -> None:
    for agent in ("a1", "a2", "a3"):
        await harness.orchestrator.handle_agent_connected(agent, f"s-{agent}")
    decisions = [(await harness.orchestrator.handle_incoming_message(harness.incoming(c))).decision for c in "abcd"]
    assert decisions == [AssignNewAgent("a1"), AssignNewAgent("a2"), AssignNewAgent("a3"), AssignNewAgent("a1")]
    again = await harness.orchestrator.handle_incoming_message(harness.incoming("b"))
    assert again.decision == KeepCurrentAgent("a2")
    assert await queue(harness) == ["a2", "a3", "a1"]
    [received] = harness.events("message.received")
    assert isinstance(received, MessageReceived)
    assert received.agent_id == "a2"


async def test_duplicates_are_ignored(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    first = await harness.orchestrator.handle_incoming_message(harness.incoming("alice", "wamid.X"))
    dup = await harness.orchestrator.handle_incoming_message(harness.incoming("bob", "wamid.X"))
    other_business = await harness.orchestrator.handle_incoming_message(
        harness.incoming("alice", "wamid.X", business="bn2")
    )
    assert not first.duplicate
    assert dup.duplicate
    assert dup.decision is None
    assert not other_business.duplicate
    async with harness.store.unit_of_work() as uow:
        assert len(await uow.conversations.list()) == 2  # bob's duplicate opened nothing


async def test_several_sockets_are_one_presence(harness: Harness) -> None:
    assert await harness.orchestrator.handle_agent_connected("a1", "tab-1")
    assert not await harness.orchestrator.handle_agent_connected("a1", "tab-2")
    assert not await harness.orchestrator.handle_agent_disconnected("a1", "tab-1")
    assert await queue(harness) == ["a1"]
    assert not await harness.orchestrator.handle_agent_disconnected("a1", "unknown-socket")
    assert await harness.orchestrator.handle_agent_disconnected("a1", "tab-2")
    assert await queue(harness) == []
    assert [e.type for e in harness.events() if isinstance(e, QueueUpdated)] == ["queue.updated"] * 2


async def test_grace_keeps_conversations_then_releases_them(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    await harness.orchestrator.handle_agent_connected("a2", "s2")
    cid = await harness.write("alice")  # -> a1
    await harness.orchestrator.handle_agent_disconnected("a1", "s1")
    harness.advance(seconds=10)
    kept = await harness.orchestrator.handle_incoming_message(harness.incoming("alice"))
    assert kept.decision == KeepCurrentAgent("a1")  # kept for a1 during the grace period
    assert await harness.scheduler.check_disconnect_grace() == 0
    harness.advance(seconds=20)
    assert await harness.scheduler.check_disconnect_grace() == 1
    released = [e for e in harness.events() if isinstance(e, ConversationReleased)]
    assert [(e.agent_id, e.reason) for e in released] == [("a1", "disconnected")]
    last = harness.events("conversation.assigned")[-1]
    assert isinstance(last, ConversationAssigned)
    assert (last.agent_id, last.conversation_id, len(last.messages)) == ("a2", cid, 2)


async def test_reconnecting_within_grace_keeps_everything(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    cid = await harness.write("alice")
    await harness.orchestrator.handle_agent_disconnected("a1", "s1")
    harness.advance(seconds=5)
    await harness.orchestrator.handle_agent_connected("a1", "s1-reloaded")
    harness.advance(seconds=60)
    assert await harness.scheduler.check_disconnect_grace() == 0
    stored = await conversation(harness, cid)
    assert stored.agent_id == "a1"


async def test_zero_grace_releases_at_once_and_goes_pending(make_harness: HarnessFactory) -> None:
    from datetime import timedelta

    h = make_harness(disconnect_grace=timedelta(0))
    await h.orchestrator.handle_agent_connected("a1", "s1")
    cid = await h.write("alice")
    await h.orchestrator.handle_agent_disconnected("a1", "s1")
    stored = await conversation(h, cid)
    assert stored.is_pending
    async with h.store.unit_of_work() as uow:
        presence = await uow.presence.get("a1")
    assert presence is not None
    assert presence.status is PresenceStatus.OFFLINE
    follow_up = await h.orchestrator.handle_incoming_message(h.incoming("alice"))
    assert follow_up.decision == Pending()


async def test_response_timeout_reassigns_to_another_agent(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    await harness.orchestrator.handle_agent_connected("a2", "s2")
    cid = await harness.write("alice")  # -> a1
    harness.advance(hours=24)
    result = await harness.scheduler.check_response_timeout()
    assert result is not None
    assert (result.reassigned, result.made_pending, result.closed) == (1, 0, 0)
    last = harness.events("conversation.assigned")[-1]
    assert isinstance(last, ConversationAssigned)
    assert (last.agent_id, last.previous_agent_id, last.reason) == ("a2", "a1", "response_timeout")
    assert (await conversation(harness, cid)).agent_id == "a2"
    assert await harness.scheduler.check_response_timeout() is None  # same slot: runs once (I7)


async def test_response_timeout_with_nobody_else_keeps_the_conversation(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    cid = await harness.write("alice")
    assigned_at = (await conversation(harness, cid)).assigned_at
    harness.advance(hours=25)
    result = await harness.scheduler.check_response_timeout()
    assert result is not None
    assert (result.reassigned, result.made_pending, result.closed) == (0, 0, 0)
    stored = await conversation(harness, cid)
    assert (stored.agent_id, stored.assigned_at) == ("a1", assigned_at)
    assert not harness.events("conversation.released")
    # as soon as somebody else is online, the next check hands it over
    await harness.orchestrator.handle_agent_connected("a2", "s2")
    harness.advance(minutes=30)
    result = await harness.scheduler.check_response_timeout()
    assert result is not None
    assert result.reassigned == 1
    assert (await conversation(harness, cid)).agent_id == "a2"


async def test_response_timeout_in_grace_with_nobody_else_keeps_it_for_the_agent(
    make_harness: HarnessFactory,
) -> None:
    from datetime import timedelta

    h = make_harness(disconnect_grace=timedelta(hours=48))
    await h.orchestrator.handle_agent_connected("a1", "s1")
    cid = await h.write("alice")
    await h.orchestrator.handle_agent_disconnected("a1", "s1")
    h.advance(hours=25)
    result = await h.scheduler.check_response_timeout()
    assert result is not None
    assert result.made_pending == 0  # in grace the agent still keeps their conversations (rule 4)
    assert (await conversation(h, cid)).agent_id == "a1"
    await h.orchestrator.handle_agent_connected("a2", "s2")  # someone else arrives: the drain does not move it,
    assert (await conversation(h, cid)).agent_id == "a1"  # but the next timeout check does
    h.advance(minutes=30)
    result = await h.scheduler.check_response_timeout()
    assert result is not None
    assert result.reassigned == 1
    assert (await conversation(h, cid)).agent_id == "a2"


async def test_inactivity_closes_and_a_new_message_opens_a_new_conversation(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    cid = await harness.write("alice")
    await harness.orchestrator.handle_agent_replied("a1", cid)
    harness.advance(hours=24)
    result = await harness.scheduler.check_response_timeout()
    assert result is not None
    assert result.closed == 1
    assert (await conversation(harness, cid)).status is ConversationStatus.CLOSED
    new_cid = await harness.write("alice")
    assert new_cid != cid
    with pytest.raises(ConversationAlreadyClosed):
        await harness.orchestrator.handle_agent_replied("a1", cid)


async def test_capacity_is_respected_and_freed_capacity_drains(make_harness: HarnessFactory) -> None:
    h = make_harness(agent_capacity=1)
    await h.orchestrator.handle_agent_connected("a1", "s1")
    await h.orchestrator.handle_agent_connected("a2", "s2")
    first, second = await h.write("alice"), await h.write("bob")
    third = await h.orchestrator.handle_incoming_message(h.incoming("carol"))
    assert third.decision == Pending()
    await h.orchestrator.close_conversation("a1", first)
    carol = await conversation(h, third.conversation_id or "")
    assert carol.agent_id == "a1"
    assert (await conversation(h, second)).agent_id == "a2"


async def test_only_the_owner_may_reply_or_close(harness: Harness) -> None:
    await harness.orchestrator.handle_agent_connected("a1", "s1")
    cid = await harness.write("alice")
    with pytest.raises(NotConversationOwner):
        await harness.orchestrator.handle_agent_replied("a2", cid)
    with pytest.raises(NotConversationOwner):
        await harness.orchestrator.close_conversation("a2", cid)
    with pytest.raises(ConversationNotFound):
        await harness.orchestrator.close_conversation("a1", "nope")
    assert (await conversation(harness, cid)).is_open


async def test_scheduled_distribution_runs_once_per_day(harness: Harness) -> None:
    first = await harness.scheduler.scheduled_distribution()
    assert first is not None
    assert await harness.scheduler.scheduled_distribution() is None
    harness.advance(days=1)
    assert await harness.scheduler.scheduled_distribution() is not None


async def test_bad_input_is_refused(harness: Harness) -> None:
    with pytest.raises(InvalidInput):
        await harness.orchestrator.handle_agent_connected("", "s1")
    with pytest.raises(InvalidInput):
        harness.incoming("")
    async with harness.store.unit_of_work() as uow:
        assert await uow.presence.list() == []


async def test_drain_is_oldest_first_across_batches_and_stops_at_capacity(make_harness: HarnessFactory) -> None:
    h = make_harness(agent_capacity=15)
    waiting = []
    for i in range(40):
        waiting.append(await h.write(f"customer-{i:02d}"))
        h.advance(seconds=1)

    def drained() -> list[tuple[str, str]]:
        return [(e.agent_id, e.conversation_id) for e in h.events() if isinstance(e, ConversationAssigned)]

    await h.orchestrator.handle_agent_connected("a1", "s1")
    assert drained() == [("a1", cid) for cid in waiting[:15]]  # oldest first, across two batches of 16
    await h.orchestrator.handle_agent_connected("a2", "s2")
    assert drained()[15:] == [("a2", cid) for cid in waiting[15:30]]
    result = await h.orchestrator.distribute_pending_messages()
    assert (result.assigned, result.still_pending) == (0, 10)
    await h.orchestrator.close_conversation("a1", waiting[0])
    assert drained()[30:] == [("a1", waiting[30])]
    async with h.store.unit_of_work() as uow:
        assert [c.id for c in await uow.conversations.list_pending()] == waiting[31:]


async def test_least_busy_hands_new_conversations_to_the_agent_with_fewest(make_harness: HarnessFactory) -> None:
    h = make_harness(routing_policy="least_busy")
    await h.orchestrator.handle_agent_connected("a1", "s1")
    busy = [await h.write(customer) for customer in ("alice", "bob", "carol")]  # a1 alone: all three
    await h.orchestrator.handle_agent_connected("a2", "s2")
    # round-robin would alternate; least busy gives a2 everything until it has as many as a1, then the tie goes
    # to the agent nearest the head (a1: a2 went to the end after each assignment)
    later = [await h.write(customer) for customer in ("dan", "erin", "fay", "gus")]
    assert [(await conversation(h, cid)).agent_id for cid in later] == ["a2", "a2", "a2", "a1"]
    await h.orchestrator.close_conversation("a1", busy[0])
    await h.orchestrator.close_conversation("a1", busy[1])  # a1 carries 2, a2 carries 3
    assert (await conversation(h, await h.write("hal"))).agent_id == "a1"
