"""An agent's reply, end to end at the service level: orchestrator + outbox + command bus + resilient sender
+ the fake Graph API over real HTTP. This is what the app's ``reply`` frame handler calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from dispatcher_adapters.memory import MemoryEventBus, MemoryStore
from dispatcher_adapters.whatsapp.service import WhatsAppSending
from dispatcher_adapters.whatsapp.settings import WhatsAppSettings
from dispatcher_core import DispatcherOrchestrator, IncomingMessage
from dispatcher_core.entities import Conversation
from dispatcher_core.errors import ConversationAlreadyClosed, NotConversationOwner
from dispatcher_core.messaging import InvalidMessage, OutboundStatus
from dispatcher_core.ports import OutboxRepository
from dispatcher_core.testing import ManualClock

from .conftest import PHONE_NUMBER_ID, TOKEN
from .fake_graph import FakeGraph, graph_error, hang, server_error
from .support import FakeSleeper

CUSTOMER = "33612345678"


@dataclass
class World:
    store: MemoryStore
    orchestrator: DispatcherOrchestrator
    sending: WhatsAppSending
    outbox: OutboxRepository
    conversation_id: str

    async def conversation(self) -> Conversation:
        async with self.store.unit_of_work() as uow:
            found = await uow.conversations.get(self.conversation_id)
        assert found is not None
        return found


@pytest.fixture
async def world(
    settings: WhatsAppSettings, clock: ManualClock, sleeper: FakeSleeper, registry: CollectorRegistry
) -> AsyncIterator[World]:
    store, events = MemoryStore(), MemoryEventBus()
    orchestrator = DispatcherOrchestrator(uow_factory=store.unit_of_work, publisher=events, clock=clock)
    sending = WhatsAppSending(
        settings,
        clock=clock,
        uow_factory=store.unit_of_work,
        orchestrator=orchestrator,
        registry=registry,
        sleep=sleeper,
        random_source=lambda: 0.0,
    )
    events.subscribe(sending.analytics.on_domain_event)
    async with sending:
        await orchestrator.handle_agent_connected("agent-1", "socket-1")
        incoming = IncomingMessage(
            business_number_id=PHONE_NUMBER_ID, customer_id=CUSTOMER, external_id="wamid.in.1", text="Bonjour"
        )
        outcome = await orchestrator.handle_incoming_message(incoming)
        assert outcome.conversation_id is not None
        sending.analytics.record_inbound()
        yield World(store, orchestrator, sending, sending.outbox, outcome.conversation_id)


async def test_an_agent_reply_reaches_the_graph_api_as_a_correct_cloud_api_request(
    world: World, fake_graph: FakeGraph, clock: ManualClock, registry: CollectorRegistry
) -> None:
    assert (await world.conversation()).oldest_unanswered_at is not None
    clock.advance(timedelta(seconds=42))
    result = await world.sending.replies.reply("agent-1", world.conversation_id, "Bonjour, je regarde ça", "c-1")

    assert result.accepted
    assert result.error is None
    assert (result.status, result.duplicate, result.answered) == (OutboundStatus.SENT, False, True)
    (request,) = fake_graph.requests
    assert request.path == f"/v27.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "biz_opaque_callback_data": result.reference,
        "type": "text",
        "text": {"body": "Bonjour, je regarde ça", "preview_url": False},
    }
    assert (await world.conversation()).oldest_unanswered_at is None  # answered: response timeout reset
    stored = await world.outbox.get(result.reference)
    assert stored is not None
    assert (stored.wamid, stored.conversation_id, stored.agent_id) == ("wamid.fake.1", world.conversation_id, "agent-1")
    assert registry.get_sample_value("whatsapp_messages_sent_total", {"kind": "text"}) == 1
    (agent,) = world.sending.analytics.assignment_stats(clock.now() - timedelta(hours=1), clock.now())
    assert (agent.agent_id, agent.assignments, agent.first_responses) == ("agent-1", 1, 1)
    assert agent.first_response_p50_seconds == 42


async def test_a_closed_window_is_reported_at_once_and_the_reply_stays_in_the_conversation(
    world: World, fake_graph: FakeGraph
) -> None:
    fake_graph.then(graph_error(131047, message="Re-engagement message"))
    result = await world.sending.replies.reply("agent-1", world.conversation_id, "Hello?")
    assert not result.accepted
    assert result.error == "window closed: send a template"
    assert len(fake_graph.requests) == 1
    async with world.store.unit_of_work() as uow:
        history = await uow.conversations.get_messages(world.conversation_id)
    assert [(m.direction.value, m.text) for m in history] == [("in", "Bonjour"), ("out", "Hello?")]
    assert history[1].id == result.reference
    assert (await world.outbox.get(result.reference)).status is OutboundStatus.FAILED  # type: ignore[union-attr]


async def test_refused_replies_change_nothing(world: World, fake_graph: FakeGraph) -> None:
    with pytest.raises(NotConversationOwner):
        await world.sending.replies.reply("agent-2", world.conversation_id, "not mine")
    with pytest.raises(InvalidMessage) as caught:
        await world.sending.replies.reply("agent-1", world.conversation_id, "x" * 4097)
    assert (caught.value.field, caught.value.limit) == ("text", "4096 characters")
    await world.orchestrator.close_conversation("agent-1", world.conversation_id)
    with pytest.raises(ConversationAlreadyClosed):
        await world.sending.replies.reply("agent-1", world.conversation_id, "too late")
    assert fake_graph.requests == []
    assert list(await world.outbox.list_by_conversation(world.conversation_id)) == []


async def test_a_resent_reply_frame_is_sent_once(world: World, fake_graph: FakeGraph) -> None:
    first = await world.sending.replies.reply("agent-1", world.conversation_id, "Hi", client_id="c-1")
    again = await world.sending.replies.reply("agent-1", world.conversation_id, "Hi", client_id="c-1")
    both = await asyncio.gather(
        world.sending.replies.reply("agent-1", world.conversation_id, "Hey", client_id="c-2"),
        world.sending.replies.reply("agent-1", world.conversation_id, "Hey", client_id="c-2"),
    )
    assert again.duplicate
    assert again.reference == first.reference
    assert sorted(result.duplicate for result in both) == [False, True]
    assert both[0].reference == both[1].reference
    assert [request.body["text"]["body"] for request in fake_graph.requests] == ["Hi", "Hey"]


async def test_while_graph_is_down_replies_stay_queued_and_are_sent_once_it_is_back(
    world: World, fake_graph: FakeGraph, clock: ManualClock, registry: CollectorRegistry
) -> None:
    def gauge() -> float | None:
        return registry.get_sample_value("whatsapp_circuit_breaker_state")

    fake_graph.fail_always(server_error(503))
    first = await world.sending.replies.reply("agent-1", world.conversation_id, "one")
    assert (first.status, first.accepted, gauge()) == (OutboundStatus.QUEUED, True, 0)
    second = await world.sending.replies.reply("agent-1", world.conversation_id, "two")
    assert second.status is OutboundStatus.QUEUED
    assert second.message.not_before is not None
    assert len(fake_graph.requests) == 5  # 3 attempts, then 2 until the breaker opened
    assert gauge() == 2
    assert (await world.conversation()).oldest_unanswered_at is None  # answered when stored
    assert await world.sending.delivery.send_due() == 0  # not due yet, and the breaker is open
    assert len(fake_graph.requests) == 5

    fake_graph.recover()
    clock.advance(timedelta(seconds=60))
    assert gauge() == 1
    assert await world.sending.delivery.send_due() == 2
    assert await world.sending.delivery.send_due() == 0  # sent once
    assert gauge() == 0
    assert [request.body["text"]["body"] for request in fake_graph.requests[5:]] == ["one", "two"]
    for reply in (first, second):
        stored = await world.outbox.get(reply.reference)
        assert stored is not None
        assert stored.status is OutboundStatus.SENT


async def test_a_reply_graph_never_took_fails_when_the_customer_window_is_over(
    world: World, fake_graph: FakeGraph, clock: ManualClock
) -> None:
    fake_graph.fail_always(server_error(503))
    result = await world.sending.replies.reply("agent-1", world.conversation_id, "still there?")
    assert result.status is OutboundStatus.QUEUED
    clock.advance(timedelta(hours=24))
    fake_graph.recover()
    assert await world.sending.delivery.send_due() == 1
    stored = await world.outbox.get(result.reference)
    assert stored is not None
    assert stored.status is OutboundStatus.FAILED
    assert stored.error_title is not None
    assert "24 h window closed" in stored.error_title
    assert len(fake_graph.requests) == 3  # the first attempts only: never sent after the window


async def test_a_reply_whose_answer_is_lost_is_reconciled_from_the_status_webhook(
    world: World, fake_graph: FakeGraph, registry: CollectorRegistry
) -> None:
    fake_graph.then(hang())
    result = await world.sending.replies.reply("agent-1", world.conversation_id, "Are you there?")
    assert result.accepted
    assert result.status is OutboundStatus.UNKNOWN
    assert result.answered
    assert registry.get_sample_value("whatsapp_messages_unknown_total") == 1

    (request,) = fake_graph.requests
    webhook = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": PHONE_NUMBER_ID},
                            "statuses": [
                                {
                                    "id": "wamid.late",
                                    "status": "delivered",
                                    "timestamp": "1767600000",
                                    "recipient_id": CUSTOMER,
                                    "biz_opaque_callback_data": request.reference,
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    (routing,) = await world.sending.statuses.handle_payload(webhook)
    assert (routing.agent_id, routing.conversation_id) == ("agent-1", world.conversation_id)
    assert (routing.event.previous, routing.event.status) == (OutboundStatus.UNKNOWN, OutboundStatus.DELIVERED)
    stored = await world.outbox.get(result.reference)
    assert stored is not None
    assert (stored.status, stored.wamid) == (OutboundStatus.DELIVERED, "wamid.late")
    assert len(fake_graph.requests) == 1  # reconciled, never resent
    assert registry.get_sample_value("whatsapp_messages_sent_total", {"kind": "text"}) == 1
