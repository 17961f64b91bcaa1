"""Status webhooks: parsed from real payloads, matched by our reference or the wamid, applied once, routed to
the conversation's owner; an unknown outcome is reconciled without resending anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dispatcher_adapters.memory import MemoryStore
from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_adapters.whatsapp.payloads import StatusUpdate, parse_statuses
from dispatcher_adapters.whatsapp.status_webhook import StatusWebhookHandler
from dispatcher_core.entities import Conversation
from dispatcher_core.messaging import (
    EventDispatcher,
    GraphError,
    MessageFailed,
    MessageSent,
    MessageStatusChanged,
    OutboundMessage,
    OutboundStatus,
    TextContent,
)
from dispatcher_core.testing import ManualClock

PAYLOADS = Path(__file__).resolve().parents[5] / "shared" / "whatsapp-payloads"
NUMBER = "1122334455667"
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_bytes())


def status_body(*statuses: dict[str, Any]) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER}, "statuses": list(statuses)}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


class Harness:
    def __init__(self, clock: ManualClock, store: MemoryStore | None = None) -> None:
        self.clock = clock
        self.outbox = MemoryOutbox()
        self.events: list[object] = []
        dispatcher = EventDispatcher()
        dispatcher.subscribe(object, self._record)
        factory = store.unit_of_work if store is not None else None
        self.handler = StatusWebhookHandler(outbox=self.outbox, events=dispatcher, clock=clock, uow_factory=factory)

    async def _record(self, event: object) -> None:
        self.events.append(event)

    async def message(
        self, status: OutboundStatus, *, wamid: str | None = None, reference: str = "ref-1"
    ) -> OutboundMessage:
        queued = await self.outbox.add(
            OutboundMessage.queue(
                id=reference,
                business_number_id=NUMBER,
                to="972987654321",
                content=TextContent("hi"),
                now=self.clock.now(),
                conversation_id="conv-1",
                agent_id="a1",
            )
        )
        sending = await self.outbox.save(queued.start_sending(self.clock.now()))
        if status is OutboundStatus.UNKNOWN:
            return await self.outbox.save(sending.mark_unknown(self.clock.now(), 1))
        assert wamid is not None
        return await self.outbox.save(sending.mark_sent(wamid, self.clock.now(), 1))


@pytest.fixture
def harness(clock: ManualClock) -> Harness:
    return Harness(clock)


def test_real_status_payloads_parse() -> None:
    (sent,) = parse_statuses(payload("13_status_sent_with_pricing.json"))
    assert (sent.wamid, sent.status, sent.recipient_id, sent.business_number_id, sent.reference) == (
        "wamid.xyzxyz",
        OutboundStatus.SENT,
        "972987654321",
        "1122334455667",
        None,
    )
    assert sent.at == datetime.fromtimestamp(1698266945, UTC)
    (failed,) = parse_statuses(payload("14_status_failed_130472.json"))
    assert failed.status is OutboundStatus.FAILED
    assert failed.error == GraphError(130472, None, "User's number is part of an experiment")
    assert parse_statuses(payload("01_text_message.json")) == []


def test_every_entry_change_and_status_is_read_and_oddities_are_skipped() -> None:
    body = status_body({"id": "w1", "status": "delivered", "timestamp": "1700000000"}, {"status": "read"})
    second = status_body({"id": "w2", "status": "deleted", "timestamp": "x", "biz_opaque_callback_data": "ref-9"})
    body["entry"].append(second["entry"][0])
    updates = parse_statuses(body)
    assert [(u.wamid, u.status, u.raw_status) for u in updates] == [
        ("w1", OutboundStatus.DELIVERED, "delivered"),
        ("w2", None, "deleted"),
    ]
    assert updates[1].at is None
    assert updates[1].reference == "ref-9"
    assert parse_statuses({"entry": "nope"}) == []
    assert parse_statuses(None) == []


async def test_an_unknown_outcome_is_reconciled_by_our_reference(harness: Harness) -> None:
    await harness.message(OutboundStatus.UNKNOWN)
    body = status_body(
        {"id": "wamid.A", "status": "sent", "timestamp": "1700000000", "biz_opaque_callback_data": "ref-1"}
    )
    (routing,) = await harness.handler.handle_payload(body)
    stored = await harness.outbox.get("ref-1")
    assert stored is not None
    assert (stored.status, stored.wamid) == (OutboundStatus.SENT, "wamid.A")
    assert routing.agent_id == "a1"
    assert routing.conversation_id == "conv-1"
    status, sent = harness.events
    assert isinstance(status, MessageStatusChanged)
    assert (status.previous, status.status, status.wamid) == (OutboundStatus.UNKNOWN, OutboundStatus.SENT, "wamid.A")
    assert isinstance(sent, MessageSent)
    assert sent.reconciled


async def test_later_statuses_match_by_wamid_and_only_move_forward(harness: Harness) -> None:
    await harness.message(OutboundStatus.SENT, wamid="wamid.A")
    read = StatusUpdate("wamid.A", "read", OutboundStatus.READ, AT)
    delivered = StatusUpdate("wamid.A", "delivered", OutboundStatus.DELIVERED, AT)
    routing = await harness.handler.handle(read)
    assert routing is not None
    assert routing.event.status is OutboundStatus.READ
    assert await harness.handler.handle(delivered) is None  # late and out of order
    assert await harness.handler.handle(read) is None  # Meta's retry of the same webhook
    stored = await harness.outbox.get("ref-1")
    assert stored is not None
    assert (stored.status, stored.delivered_at, stored.read_at) == (OutboundStatus.READ, AT, AT)
    assert len(harness.events) == 1


async def test_a_late_failure_is_reported_to_the_agent(harness: Harness) -> None:
    await harness.message(OutboundStatus.SENT, wamid="wamid.A")
    error = GraphError(131047, None, "Re-engagement message")
    routing = await harness.handler.handle(StatusUpdate("wamid.A", "failed", OutboundStatus.FAILED, AT, error=error))
    assert routing is not None
    assert (routing.event.status, routing.event.error_code) == (OutboundStatus.FAILED, 131047)
    failed = harness.events[1]
    assert isinstance(failed, MessageFailed)
    assert failed.reason == "window closed: send a template"


async def test_statuses_of_messages_we_did_not_send_are_ignored(harness: Harness) -> None:
    await harness.message(OutboundStatus.SENT, wamid="wamid.A")
    assert await harness.handler.handle(StatusUpdate("wamid.other", "read", OutboundStatus.READ, AT)) is None
    mismatch = StatusUpdate("wamid.B", "read", OutboundStatus.READ, AT, reference="ref-1")
    assert await harness.handler.handle(mismatch) is None
    untracked = StatusUpdate("wamid.A", "deleted", None, AT)
    assert await harness.handler.handle(untracked) is None
    assert harness.handler.ignored == 3
    assert harness.events == []
    stored = await harness.outbox.get("ref-1")
    assert stored is not None
    assert stored.status is OutboundStatus.SENT


async def test_status_frames_go_to_whoever_owns_the_conversation_now(clock: ManualClock) -> None:
    store = MemoryStore()
    async with store.unit_of_work() as uow:
        conversation = Conversation.open(id="conv-1", business_number_id=NUMBER, customer_id="972987654321", now=AT)
        await uow.conversations.add(conversation.assign_to("a2", AT))
        await uow.commit()
    harness = Harness(clock, store)
    await harness.message(OutboundStatus.SENT, wamid="wamid.A")  # sent by a1, since reassigned to a2
    routing = await harness.handler.handle(StatusUpdate("wamid.A", "delivered", OutboundStatus.DELIVERED, AT))
    assert routing is not None
    assert routing.agent_id == "a2"
