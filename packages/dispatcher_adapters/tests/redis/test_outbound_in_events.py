"""A reassigned conversation's ``conversation.assigned`` carries the replies with their send records, and the
event survives the Redis codec (the cross-instance transport)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher_adapters.memory import MemoryEventBus, MemoryStore
from dispatcher_adapters.redis.codec import dump_event, load_event
from dispatcher_core import DispatcherOrchestrator, DispatcherSettings, IncomingMessage
from dispatcher_core.entities import Conversation
from dispatcher_core.events import ConversationAssigned
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus, TextContent
from dispatcher_core.testing import ManualClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_reassigned_conversation_brings_its_replies_and_their_status() -> None:
    store, events, clock = MemoryStore(), MemoryEventBus(), ManualClock(T0)
    seen: list[ConversationAssigned] = []

    async def keep(event: object) -> None:
        if isinstance(event, ConversationAssigned):
            seen.append(event)

    events.subscribe(keep)
    orchestrator = DispatcherOrchestrator(
        uow_factory=store.unit_of_work,
        publisher=events,
        clock=clock,
        settings=DispatcherSettings(disconnect_grace=timedelta(0)),
    )
    await orchestrator.handle_agent_connected("a1", "s1")
    outcome = await orchestrator.handle_incoming_message(IncomingMessage("bn", "33612345678", "w1", text="hi"))
    assert outcome.conversation_id is not None

    def reply(conversation: Conversation, now: datetime) -> OutboundMessage:
        return OutboundMessage.queue(
            id="r1",
            business_number_id=conversation.business_number_id,
            to=conversation.customer_id,
            content=TextContent("hello"),
            now=now,
            conversation_id=conversation.id,
            agent_id="a1",
            client_id="c-1",
        )

    await orchestrator.handle_agent_reply("a1", outcome.conversation_id, reply)
    await orchestrator.handle_agent_connected("a2", "s2")
    await orchestrator.handle_agent_disconnected("a1", "s1")
    await orchestrator.release_expired_agents()
    first, second = seen
    assert first.outbound == ()  # a new conversation reads no outbox
    assert second.agent_id == "a2"
    assert [(m.direction.value, m.text) for m in second.messages] == [("in", "hi"), ("out", "hello")]
    (record,) = second.outbound
    assert (record.id, record.status, record.client_id) == ("r1", OutboundStatus.QUEUED, "c-1")
    assert load_event(dump_event(second)) == second
