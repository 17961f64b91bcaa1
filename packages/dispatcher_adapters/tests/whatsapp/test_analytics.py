"""Statistics for /admin/stats: messages by status, template performance, first-response times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_adapters.whatsapp.analytics import AgentStats, TemplatePerformance, WhatsAppAnalytics, percentile
from dispatcher_core.errors import InvalidInput
from dispatcher_core.events import ConversationAssigned
from dispatcher_core.messaging import (
    BodyComponent,
    EventDispatcher,
    GraphError,
    MessageSent,
    OutboundMessage,
    OutboundStatus,
    TemplateMessage,
    TextContent,
)
from dispatcher_core.testing import ManualClock

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def store(
    outbox: MemoryOutbox, reference: str, status: OutboundStatus, *, template: str | None = None, at: datetime = T0
) -> None:
    content = (
        TextContent("hi")
        if template is None
        else TemplateMessage(template, "en", body=BodyComponent(parameters=("x",)))
    )
    message = await outbox.add(
        OutboundMessage.queue(id=reference, business_number_id="1", to="33612345678", content=content, now=at)
    )
    if status is OutboundStatus.QUEUED:
        return
    message = await outbox.save(message.start_sending(at))
    if status is OutboundStatus.FAILED:
        await outbox.save(message.mark_failed(GraphError(131026, 400, "undeliverable"), at, 1))
    elif status is OutboundStatus.UNKNOWN:
        await outbox.save(message.mark_unknown(at, 1))
    elif status is not OutboundStatus.SENDING:
        sent = await outbox.save(message.mark_sent(f"wamid.{reference}", at, 1))
        if status is not OutboundStatus.SENT:
            await outbox.save(sent.apply_status(status, at))


async def test_messages_in_and_out_by_status_over_a_range() -> None:
    clock, outbox = ManualClock(T0), MemoryOutbox()
    analytics = WhatsAppAnalytics(outbox, clock)
    for index, status in enumerate(
        [OutboundStatus.SENT, OutboundStatus.READ, OutboundStatus.READ, OutboundStatus.FAILED]
    ):
        await store(outbox, f"m{index}", status)
    await store(outbox, "old", OutboundStatus.SENT, at=T0 - 2 * HOUR)
    for minutes in (0, 10, 59):
        analytics.record_inbound(T0 + timedelta(minutes=minutes))
    analytics.record_inbound(T0 + 2 * HOUR)

    stats = await analytics.message_stats(T0, T0 + HOUR)
    assert (stats.inbound, stats.outbound) == (3, 4)
    assert stats.outbound_by_status == {"sent": 1, "read": 2, "failed": 1}


async def test_template_performance() -> None:
    outbox = MemoryOutbox()
    analytics = WhatsAppAnalytics(outbox, ManualClock(T0))
    for index, status in enumerate(
        [OutboundStatus.READ, OutboundStatus.DELIVERED, OutboundStatus.FAILED, OutboundStatus.SENT]
    ):
        await store(outbox, f"p{index}", status, template="promo")
    await store(outbox, "w1", OutboundStatus.UNKNOWN, template="welcome")
    await store(outbox, "text", OutboundStatus.SENT)

    promo, welcome = await analytics.template_performance(T0, T0 + HOUR)
    assert promo == TemplatePerformance("promo", total=4, sent=3, delivered=2, read=1, failed=1, unknown=0)
    assert (promo.delivery_rate, promo.read_rate) == (2 / 3, 0.5)
    assert welcome == TemplatePerformance("welcome", total=1, sent=0, delivered=0, read=0, failed=0, unknown=1)
    assert welcome.delivery_rate is None


def assigned(conversation_id: str, agent_id: str, at: datetime) -> ConversationAssigned:
    return ConversationAssigned(conversation_id, agent_id, "1", "33612345678", None, (), "new", at)


def replied(conversation_id: str, agent_id: str, at: datetime, *, reconciled: bool = False) -> MessageSent:
    return MessageSent(
        "r",
        "33612345678",
        "w",
        "text",
        at,
        at,
        1,
        conversation_id=conversation_id,
        agent_id=agent_id,
        reconciled=reconciled,
    )


async def test_first_response_times_per_agent() -> None:
    clock = ManualClock(T0)
    analytics = WhatsAppAnalytics(MemoryOutbox(), clock)
    events = EventDispatcher()
    analytics.subscribe(events)
    await analytics.on_domain_event(assigned("c1", "a1", T0))
    await analytics.on_domain_event(assigned("c2", "a1", T0))
    await analytics.on_domain_event(assigned("c3", "a2", T0))
    await analytics.on_domain_event(assigned("c4", "a2", T0))
    await events.dispatch(replied("c1", "a1", T0 + timedelta(seconds=10)))
    await events.dispatch(replied("c1", "a1", T0 + timedelta(seconds=99)))  # not a first response
    await events.dispatch(replied("c2", "a1", T0 + timedelta(seconds=30)))
    await events.dispatch(replied("c3", "someone-else", T0 + timedelta(seconds=5)))  # not the assigned agent
    await events.dispatch(replied("c4", "a2", T0 + timedelta(seconds=7), reconciled=True))  # learnt late

    assert analytics.assignment_stats(T0, T0 + HOUR) == [
        AgentStats(
            "a1", assignments=2, first_responses=2, first_response_p50_seconds=10, first_response_p95_seconds=30
        ),
        AgentStats(
            "a2", assignments=2, first_responses=0, first_response_p50_seconds=None, first_response_p95_seconds=None
        ),
    ]
    assert analytics.assignment_stats(T0 + HOUR, T0 + 2 * HOUR) == []
    report = await analytics.report(T0, T0 + HOUR)
    assert len(report.agents) == 2


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50, 95, 100)
    assert percentile([7.0], 95) == 7
    assert percentile([], 50) is None
    with pytest.raises(InvalidInput):
        percentile(values, 0)


async def test_bad_ranges_are_refused() -> None:
    analytics = WhatsAppAnalytics(MemoryOutbox(), ManualClock(T0))
    with pytest.raises(InvalidInput, match="must be after start"):
        await analytics.message_stats(T0, T0)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        analytics.assignment_stats(datetime(2026, 1, 1), datetime(2026, 1, 2))  # naive on purpose


async def test_samples_are_bounded() -> None:
    clock = ManualClock(T0)
    analytics = WhatsAppAnalytics(MemoryOutbox(), clock, max_samples=3, retention=HOUR)
    for index in range(5):
        await analytics.on_domain_event(assigned(f"c{index}", "a1", T0))
    assert analytics.assignment_stats(T0, T0 + HOUR)[0].assignments == 3
    clock.advance(2 * HOUR)
    await analytics.on_domain_event(assigned("late", "a1", clock.now()))
    assert analytics.assignment_stats(T0, T0 + HOUR) == []
