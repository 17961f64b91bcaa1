"""TimeoutPolicy: rules 4, 6 and 7 as pure decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dispatcher_core import CloseConversation, Conversation, DispatcherSettings, NoTimeoutAction, ReassignConversation
from dispatcher_core.entities import AgentPresence
from dispatcher_core.services.timeout import TimeoutPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
policy = TimeoutPolicy(DispatcherSettings(response_timeout=24 * H, inactivity_timeout=24 * H))


def assigned(at: datetime = T0) -> Conversation:
    return Conversation.open(id="c", business_number_id="bn", customer_id="x", now=T0).assign_to("a1", at)


def test_unanswered_past_the_response_timeout_is_reassigned() -> None:
    conv = assigned().record_customer_message(T0)
    assert policy.evaluate(conv, T0 + 24 * H - timedelta(seconds=1)) == NoTimeoutAction()
    assert policy.evaluate(conv, T0 + 24 * H) == ReassignConversation("a1")


def test_the_wait_counts_from_the_assignment_when_it_is_later() -> None:
    conv = assigned(at=T0 + 10 * H).record_customer_message(T0)
    assert policy.evaluate(conv, T0 + 30 * H) == NoTimeoutAction()
    assert policy.evaluate(conv, T0 + 34 * H) == ReassignConversation("a1")


def test_a_reply_stops_the_response_clock() -> None:
    conv = assigned().record_customer_message(T0).record_agent_reply(T0 + H)
    assert policy.evaluate(conv, T0 + 24 * H) == NoTimeoutAction()


def test_inactive_with_nothing_unanswered_is_closed() -> None:
    conv = assigned().record_customer_message(T0).record_agent_reply(T0 + H)
    assert policy.evaluate(conv, T0 + 25 * H - timedelta(seconds=1)) == NoTimeoutAction()
    assert policy.evaluate(conv, T0 + 25 * H) == CloseConversation("inactivity")


def test_unanswered_conversations_are_never_closed_for_inactivity() -> None:
    pending = Conversation.open(id="c", business_number_id="bn", customer_id="x", now=T0)
    pending = pending.record_customer_message(T0).release(T0)
    assert policy.evaluate(pending, T0 + 100 * H) == NoTimeoutAction()


def test_closed_conversations_have_no_deadline() -> None:
    closed = assigned().close(T0, "agent")
    assert policy.evaluate(closed, T0 + 100 * H) == NoTimeoutAction()


def test_cutoffs_bound_the_candidates() -> None:
    cutoffs = policy.cutoffs(T0 + 48 * H)
    assert cutoffs.unanswered_before == T0 + 24 * H
    assert cutoffs.inactive_before == T0 + 24 * H


def test_grace_expiry() -> None:
    grace_policy = TimeoutPolicy(DispatcherSettings(disconnect_grace=timedelta(seconds=30)))
    online = AgentPresence.offline("a", T0).connect("s", T0)
    in_grace = online.disconnect("s", T0, grace_policy.grace_deadline(T0))
    assert in_grace.grace_until == T0 + timedelta(seconds=30)
    assert not grace_policy.grace_expired(in_grace, T0 + timedelta(seconds=29))
    assert grace_policy.grace_expired(in_grace, T0 + timedelta(seconds=30))
    assert not grace_policy.grace_expired(online, T0 + H)
    assert not grace_policy.grace_expired(replace(in_grace, grace_until=None), T0 + H)
