"""The read side for a host application (``orchestrator.queries``): queue, conversations, pending."""

from __future__ import annotations

from datetime import timedelta

from dispatcher_core import PresenceStatus, QueueEntry
from dispatcher_core.entities import ConversationStatus

from .conftest import HarnessFactory


async def test_queue_conversation_and_pending_as_a_host_sees_them(make_harness: HarnessFactory) -> None:
    h = make_harness(agent_capacity=1, disconnect_grace=timedelta(seconds=30))
    queries = h.orchestrator.queries
    assert await queries.queue() == []
    assert await queries.pending() == []

    await h.orchestrator.handle_agent_connected("a1", "s1")
    await h.orchestrator.handle_agent_connected("a2", "s2")
    first = await h.write("alice")  # a1 (then full)
    await h.write("bob")  # a2 (then full)
    waiting = await h.write("carol")  # nobody has room: pending
    await h.write("carol")  # a second message waits with it
    await h.orchestrator.handle_agent_disconnected("a2", "s2")  # a2 in grace, out of the queue

    assert await queries.queue() == [
        QueueEntry("a1", 1, PresenceStatus.ONLINE, connections=1, active_conversations=1, capacity=1),
        QueueEntry("a2", None, PresenceStatus.GRACE, connections=0, active_conversations=1, capacity=1),
    ]
    [pending] = await queries.pending()
    assert (pending.conversation.id, pending.pending_messages) == (waiting, 2)
    assert await queries.pending_messages() == 2

    detail = await queries.conversation(waiting)
    assert detail is not None
    assert detail.conversation.customer_id == "carol"
    assert [m.text for m in detail.messages] == ["from carol", "from carol"]
    assert [p.message_id for p in detail.pending] == [m.id for m in detail.messages]
    assert await queries.conversation("nope") is None

    assert [c.id for c in await queries.conversations(agent_id="a1")] == [first]
    assert len(await queries.conversations(status=ConversationStatus.OPEN)) == 3
    assert await queries.conversations(status=ConversationStatus.CLOSED) == []
