"""Outbox delivery: persisted before attempted, settled after, events once; crash recovery never resends."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_adapters.whatsapp.delivery import OutboxDelivery
from dispatcher_adapters.whatsapp.payloads import StatusUpdate
from dispatcher_adapters.whatsapp.status_webhook import StatusWebhookHandler
from dispatcher_core.messaging import (
    BodyComponent,
    CircuitOpen,
    CommandBus,
    ErrorClass,
    EventDispatcher,
    GraphError,
    MessageFailed,
    MessageSent,
    MessageStatusChanged,
    OutboundMessage,
    OutboundStatus,
    SendFailed,
    SendOutcomeUnknown,
    SendTemplateMessage,
    SendTextMessage,
    TemplateLimits,
    TemplateMessage,
    TemplateMessageValidator,
    TemplateUsed,
    TemplateValidationError,
    TextContent,
    WindowClosed,
)
from dispatcher_core.testing import ManualClock

from .conftest import PHONE_NUMBER_ID
from .support import ScriptedSender

TEMPLATE = TemplateMessage("promo", "en_US", body=BodyComponent(parameters=("Ana",)))


@dataclass
class Setup:
    outbox: MemoryOutbox
    sender: ScriptedSender
    delivery: OutboxDelivery
    bus: CommandBus
    dispatcher: EventDispatcher
    events: list[object] = field(default_factory=list)


@pytest.fixture
def setup(clock: ManualClock) -> Setup:
    outbox, sender, dispatcher = MemoryOutbox(), ScriptedSender(), EventDispatcher()
    ids = iter(f"ref-{n}" for n in range(1, 1000))
    delivery = OutboxDelivery(
        outbox=outbox,
        sender=sender,
        events=dispatcher,
        clock=clock,
        default_number_id=PHONE_NUMBER_ID,
        new_id=lambda: next(ids),
    )
    bus = CommandBus()
    delivery.register(bus)
    result = Setup(outbox, sender, delivery, bus, dispatcher)

    async def record(event: object) -> None:
        result.events.append(event)

    dispatcher.subscribe(object, record)
    return result


def text(
    to: str = "33612345678",
    *,
    conversation_id: str | None = None,
    agent_id: str | None = None,
    client_id: str | None = None,
) -> SendTextMessage:
    return SendTextMessage(to=to, text="hello", conversation_id=conversation_id, agent_id=agent_id, client_id=client_id)


async def test_a_sent_text_is_stored_sent_with_its_wamid(setup: Setup) -> None:
    seen_before_send: list[OutboundStatus | None] = []

    async def check(message: OutboundMessage) -> None:
        stored = await setup.outbox.get(message.id)
        seen_before_send.append(stored.status if stored else None)

    setup.sender.before_answer = check
    result = await setup.bus.dispatch(text(conversation_id="c1", agent_id="a1"))
    assert seen_before_send == [OutboundStatus.SENDING]  # persisted before the attempt
    assert (result.status, result.wamid, result.attempts) == (OutboundStatus.SENT, "wamid.scripted.1", 1)
    assert await setup.outbox.get(result.id) == result
    assert result.business_number_id == PHONE_NUMBER_ID
    (event,) = setup.events
    assert isinstance(event, MessageSent)
    assert (event.reference, event.wamid, event.agent_id, event.conversation_id) == (
        result.id,
        result.wamid,
        "a1",
        "c1",
    )


async def test_a_template_send_also_reports_the_template_used(setup: Setup) -> None:
    result = await setup.bus.dispatch(SendTemplateMessage(to="33612345678", template=TEMPLATE))
    assert [type(event) for event in setup.events] == [MessageSent, TemplateUsed]
    used = setup.events[1]
    assert isinstance(used, TemplateUsed)
    assert (used.reference, used.template_name, used.language) == (result.id, "promo", "en_US")


async def test_the_deployment_limits_apply_before_anything_is_stored(clock: ManualClock) -> None:
    outbox = MemoryOutbox()
    delivery = OutboxDelivery(
        outbox=outbox,
        sender=ScriptedSender(),
        events=EventDispatcher(),
        clock=clock,
        default_number_id=PHONE_NUMBER_ID,
        validator=TemplateMessageValidator(TemplateLimits(body_text_length=2)),
    )
    with pytest.raises(TemplateValidationError) as caught:
        await delivery.handle_send_template(SendTemplateMessage(to="33612345678", template=TEMPLATE))
    assert caught.value.field == "body.parameters"
    assert len(outbox) == 0


async def test_a_refused_send_is_failed_with_what_to_tell_the_agent(setup: Setup) -> None:
    window = GraphError(131047, 400, "Re-engagement message")
    setup.sender.then(WindowClosed(window, ErrorClass.PERMANENT, attempts=1))
    result = await setup.bus.dispatch(text(agent_id="a1"))
    assert (result.status, result.error_code, result.attempts) == (OutboundStatus.FAILED, 131047, 1)
    (event,) = setup.events
    assert isinstance(event, MessageFailed)
    assert (event.reason, event.error_code, event.agent_id) == ("window closed: send a template", 131047, "a1")


async def test_an_unknown_outcome_is_marked_unknown_and_not_resent(setup: Setup) -> None:
    setup.sender.then(SendOutcomeUnknown("read timeout", attempts=1))
    result = await setup.bus.dispatch(text())
    assert result.status is OutboundStatus.UNKNOWN
    assert len(setup.sender.calls) == 1
    (event,) = setup.events
    assert isinstance(event, MessageStatusChanged)
    assert (event.status, event.previous) == (OutboundStatus.UNKNOWN, OutboundStatus.SENDING)


async def test_an_open_circuit_fails_a_single_send_or_requeues_on_request(setup: Setup, clock: ManualClock) -> None:
    setup.sender.then(CircuitOpen(timedelta(seconds=42)))
    result = await setup.bus.dispatch(text())
    assert result.status is OutboundStatus.FAILED
    event = setup.events[0]
    assert isinstance(event, MessageFailed)
    assert event.reason == "WhatsApp is unavailable right now: try again later"

    queued = await setup.outbox.add(
        OutboundMessage.queue(
            id="bulk-1", business_number_id=PHONE_NUMBER_ID, to="33612345678", content=TextContent("x"), now=clock.now()
        )
    )
    setup.sender.then(CircuitOpen(timedelta(seconds=42)))
    with pytest.raises(CircuitOpen):
        await setup.delivery.deliver(queued, requeue_if_circuit_open=True)
    stored = await setup.outbox.get("bulk-1")
    assert stored is not None
    assert stored.status is OutboundStatus.QUEUED


async def test_the_same_client_id_is_sent_once(setup: Setup) -> None:
    first = await setup.bus.dispatch(text(agent_id="a1", client_id="k1"))
    again = await setup.bus.dispatch(text(agent_id="a1", client_id="k1"))
    assert again == first
    assert len(setup.sender.calls) == 1
    assert len(setup.outbox) == 1


async def test_an_unexpected_error_leaves_the_outcome_unknown_and_propagates(setup: Setup) -> None:
    setup.sender.then(RuntimeError("driver bug"))
    with pytest.raises(RuntimeError, match="driver bug"):
        await setup.bus.dispatch(text())
    stored = await setup.outbox.get("ref-1")
    assert stored is not None
    assert stored.status is OutboundStatus.UNKNOWN


async def test_a_webhook_that_beats_the_answer_is_kept_and_sent_is_reported_once(
    setup: Setup, clock: ManualClock
) -> None:
    statuses = StatusWebhookHandler(outbox=setup.outbox, events=setup.dispatcher, clock=clock)

    async def delivered_first(message: OutboundMessage) -> None:
        await statuses.handle(
            StatusUpdate("wamid.scripted.1", "delivered", OutboundStatus.DELIVERED, clock.now(), reference=message.id)
        )

    setup.sender.before_answer = delivered_first
    result = await setup.bus.dispatch(text())
    assert (result.status, result.wamid) == (OutboundStatus.DELIVERED, "wamid.scripted.1")
    # The webhook path reported the send; the late answer only filled in what was missing: one MessageSent.
    assert [type(event) for event in setup.events] == [MessageStatusChanged, MessageSent]


async def test_two_instances_delivering_the_same_message_send_it_once(setup: Setup, clock: ManualClock) -> None:
    queued = await setup.outbox.add(
        OutboundMessage.queue(
            id="m1", business_number_id=PHONE_NUMBER_ID, to="33612345678", content=TextContent("x"), now=clock.now()
        )
    )
    results = await asyncio.gather(setup.delivery.deliver(queued), setup.delivery.deliver(queued))
    assert len(setup.sender.calls) == 1
    assert {result.status for result in results} <= {OutboundStatus.SENDING, OutboundStatus.SENT}
    stored = await setup.outbox.get("m1")
    assert stored is not None
    assert stored.status is OutboundStatus.SENT


async def test_recovery_marks_interrupted_sends_unknown_and_sends_what_was_never_tried(
    setup: Setup, clock: ManualClock
) -> None:
    def message(reference: str) -> OutboundMessage:
        return OutboundMessage.queue(
            id=reference,
            business_number_id=PHONE_NUMBER_ID,
            to="33612345678",
            content=TextContent("x"),
            now=clock.now(),
        )

    crashed = await setup.outbox.add(message("crashed-mid-send"))
    await setup.outbox.save(crashed.start_sending(clock.now()))
    await setup.outbox.add(message("never-tried"))
    clock.advance(timedelta(minutes=10))
    await setup.outbox.add(message("just-queued"))  # another instance is about to send it: left alone

    report = await setup.delivery.recover(stale_after=timedelta(minutes=5))
    assert (report.marked_unknown, report.resumed) == (1, 1)
    assert [call.id for call in setup.sender.calls] == ["never-tried"]
    statuses = {ref: (await setup.outbox.get(ref)) for ref in ("crashed-mid-send", "never-tried", "just-queued")}
    assert {ref: m.status for ref, m in statuses.items() if m} == {
        "crashed-mid-send": OutboundStatus.UNKNOWN,
        "never-tried": OutboundStatus.SENT,
        "just-queued": OutboundStatus.QUEUED,
    }
    assert await setup.delivery.recover(stale_after=timedelta(minutes=5)) == replace(
        report, marked_unknown=0, resumed=0
    )


async def test_recovery_stops_resuming_while_the_circuit_is_open(setup: Setup, clock: ManualClock) -> None:
    for reference in ("a", "b"):
        await setup.outbox.add(
            OutboundMessage.queue(
                id=reference,
                business_number_id=PHONE_NUMBER_ID,
                to="33612345678",
                content=TextContent("x"),
                now=clock.now(),
            )
        )
    clock.advance(timedelta(minutes=10))
    setup.sender.then(CircuitOpen(timedelta(seconds=30)))
    report = await setup.delivery.recover()
    assert report.resumed == 0
    assert [m.status for m in await setup.outbox.list_by_status(OutboundStatus.QUEUED)] == [OutboundStatus.QUEUED] * 2


async def test_a_send_failed_after_retries_counts_every_attempt(setup: Setup) -> None:
    setup.sender.then(SendFailed(GraphError(None, 503, "down"), ErrorClass.RETRYABLE, attempts=3))
    result = await setup.bus.dispatch(text())
    assert (result.status, result.attempts, result.error_code) == (OutboundStatus.FAILED, 3, None)
