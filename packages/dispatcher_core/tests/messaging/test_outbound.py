"""The outbox entity's states: forward only, webhooks late, twice or out of order change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher_core.errors import InvalidInput
from dispatcher_core.messaging import (
    BodyComponent,
    GraphError,
    InvalidMessage,
    InvalidTransition,
    OutboundMessage,
    OutboundStatus,
    TemplateMessage,
    TextContent,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
T2 = T0 + timedelta(seconds=2)
WINDOW = GraphError(131047, 400, "Re-engagement message")


def queued(
    conversation_id: str | None = None, agent_id: str | None = None, client_id: str | None = None
) -> OutboundMessage:
    return OutboundMessage.queue(
        id="ref-1",
        business_number_id="1122334455667",
        to="33612345678",
        content=TextContent("hello"),
        now=T0,
        conversation_id=conversation_id,
        agent_id=agent_id,
        client_id=client_id,
    )


def sending() -> OutboundMessage:
    return queued().start_sending(T0)


def test_a_new_message_is_queued_and_knows_its_kind() -> None:
    message = queued(conversation_id="c1", agent_id="a1", client_id="k1")
    assert message.status is OutboundStatus.QUEUED
    assert (message.kind, message.template_name) == ("text", None)
    template = TemplateMessage("promo", "en_US", body=BodyComponent(parameters=("x",)))
    assert (
        OutboundMessage.queue(id="r", business_number_id="1", to="33612345678", content=template, now=T0).template_name
        == "promo"
    )


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="to:"):
        OutboundMessage.queue(id="r", business_number_id="1", to="x", content=TextContent("hi"), now=T0)
    with pytest.raises(InvalidInput, match="id must be 1 to 512"):
        OutboundMessage.queue(id="r" * 513, business_number_id="1", to="33612345678", content=TextContent("hi"), now=T0)
    with pytest.raises(InvalidInput, match="agent_id is missing"):
        queued(client_id="k1")
    with pytest.raises(InvalidMessage, match="text"):
        TextContent("x" * 4097)


def test_the_send_path() -> None:
    sent = sending().mark_sent("wamid.1", T1, attempts=2)
    assert (sent.status, sent.wamid, sent.attempts, sent.sent_at) == (OutboundStatus.SENT, "wamid.1", 2, T1)
    failed = sending().mark_failed(WINDOW, T1, attempts=1)
    assert (failed.status, failed.error_code, failed.failed_at) == (OutboundStatus.FAILED, 131047, T1)
    unknown = sending().mark_unknown(T1, attempts=1)
    assert unknown.status is OutboundStatus.UNKNOWN
    assert sending().requeue(T1, attempts=1).status is OutboundStatus.QUEUED
    cancelled = queued().cancel(T1, "bulk send cancelled")
    assert (cancelled.status, cancelled.error_title) == (OutboundStatus.FAILED, "bulk send cancelled")


@pytest.mark.parametrize(
    "transition",
    [
        lambda m: m.mark_sent("wamid.1", T1, 1),
        lambda m: m.mark_failed(WINDOW, T1, 1),
        lambda m: m.mark_unknown(T1, 1),
        lambda m: m.requeue(T1, 1),
    ],
)
def test_a_queued_message_must_be_sending_first(transition: Callable[[OutboundMessage], OutboundMessage]) -> None:
    with pytest.raises(InvalidTransition):
        transition(queued())


def test_sending_twice_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="cannot go from sending to sending"):
        sending().start_sending(T1)


def test_a_webhook_that_got_there_first_wins_over_the_late_answer() -> None:
    delivered = sending().apply_status(OutboundStatus.DELIVERED, T1, wamid="wamid.1")
    answered = delivered.mark_sent("wamid.1", T2, attempts=1)
    assert answered.status is OutboundStatus.DELIVERED
    assert answered.delivered_at == T1
    assert delivered.mark_unknown(T2, 1).status is OutboundStatus.DELIVERED


def test_unknown_is_reconciled_by_any_webhook_status() -> None:
    unknown = sending().mark_unknown(T1, attempts=1)
    read = unknown.apply_status(OutboundStatus.READ, T2, wamid="wamid.9")
    assert (read.status, read.wamid, read.sent_at, read.delivered_at, read.read_at) == (
        OutboundStatus.READ,
        "wamid.9",
        T2,
        T2,
        T2,
    )
    failed = unknown.apply_status(OutboundStatus.FAILED, T2, wamid="wamid.9", error=WINDOW)
    assert (failed.status, failed.error_code) == (OutboundStatus.FAILED, 131047)


def test_stale_and_duplicate_webhooks_return_the_same_object() -> None:
    read = sending().mark_sent("wamid.1", T0, 1).apply_status(OutboundStatus.READ, T1)
    assert read.apply_status(OutboundStatus.DELIVERED, T2) is read
    assert read.apply_status(OutboundStatus.READ, T2) is read
    assert read.apply_status(OutboundStatus.FAILED, T2) is read
    failed = sending().mark_failed(WINDOW, T0, 1)
    assert failed.apply_status(OutboundStatus.DELIVERED, T1, wamid=None) is failed


def test_sent_then_failed_is_a_late_failure() -> None:
    sent = sending().mark_sent("wamid.1", T0, 1)
    failed = sent.apply_status(OutboundStatus.FAILED, T1, error=GraphError(130472, None, "experiment"))
    assert (failed.status, failed.error_code, failed.wamid) == (OutboundStatus.FAILED, 130472, "wamid.1")


def test_only_webhook_statuses_are_applied() -> None:
    with pytest.raises(InvalidInput, match="not a webhook status"):
        sending().apply_status(OutboundStatus.QUEUED, T1)


def test_accepted_means_the_send_must_not_be_redone() -> None:
    assert {status for status in OutboundStatus if status.accepted} == {
        OutboundStatus.SENT,
        OutboundStatus.DELIVERED,
        OutboundStatus.READ,
        OutboundStatus.UNKNOWN,
    }
