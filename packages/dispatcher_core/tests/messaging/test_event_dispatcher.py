"""Listeners receive the events of the types they subscribed to; one failing listener harms nobody."""

from __future__ import annotations

from datetime import UTC, datetime

from dispatcher_core.messaging import (
    EventDispatcher,
    MessageFailed,
    MessageSent,
    MessageStatusChanged,
    OutboundStatus,
    TemplateUsed,
)

AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SENT = MessageSent("r1", "33612345678", "wamid.1", "text", AT, AT, 1)
FAILED = MessageFailed("r2", "33612345678", "window closed: send a template", AT, 1, error_code=131047)
USED = TemplateUsed("r3", "promo", "en_US", "33612345678", AT)
STATUS = MessageStatusChanged("r1", OutboundStatus.DELIVERED, OutboundStatus.SENT, AT)


async def test_each_listener_gets_its_types_in_order() -> None:
    dispatcher = EventDispatcher()
    received: list[tuple[str, object]] = []

    async def on_sent(event: MessageSent) -> None:
        received.append(("sent", event))

    async def on_failed(event: MessageFailed) -> None:
        received.append(("failed", event))

    async def on_anything(event: object) -> None:
        received.append(("any", event))

    dispatcher.subscribe(MessageSent, on_sent)
    dispatcher.subscribe(MessageFailed, on_failed)
    dispatcher.subscribe(object, on_anything)
    for event in (SENT, FAILED, USED, STATUS):
        await dispatcher.dispatch(event)
    assert received == [
        ("sent", SENT),
        ("any", SENT),
        ("failed", FAILED),
        ("any", FAILED),
        ("any", USED),
        ("any", STATUS),
    ]
    assert (dispatcher.delivered, dispatcher.failed) == (6, 0)


async def test_a_failing_listener_is_counted_and_the_others_still_run() -> None:
    dispatcher = EventDispatcher()
    received: list[TemplateUsed] = []

    async def broken(event: TemplateUsed) -> None:
        raise RuntimeError("listener bug")

    async def working(event: TemplateUsed) -> None:
        received.append(event)

    dispatcher.subscribe(TemplateUsed, broken)
    dispatcher.subscribe(TemplateUsed, working)
    await dispatcher.dispatch(USED)
    assert received == [USED]
    assert (dispatcher.delivered, dispatcher.failed) == (1, 1)
    assert dispatcher.success_rate == 0.5


async def test_unsubscribe_stops_delivery() -> None:
    dispatcher = EventDispatcher()
    received: list[MessageSent] = []

    async def on_sent(event: MessageSent) -> None:
        received.append(event)

    unsubscribe = dispatcher.subscribe(MessageSent, on_sent)
    await dispatcher.dispatch(SENT)
    unsubscribe()
    unsubscribe()
    await dispatcher.dispatch(SENT)
    assert received == [SENT]
    assert dispatcher.success_rate == 1.0
