"""AssignmentService (seed: ``tests/assignment.service.spec.ts``): a pure decision, testable without anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher_core import AssignmentService, AssignNewAgent, Conversation, KeepCurrentAgent, Pending
from dispatcher_core.entities import AgentPresence, PresenceStatus
from dispatcher_core.errors import ConversationAlreadyClosed

NOW = datetime(2026, 1, 1, tzinfo=UTC)
service = AssignmentService()


def conv(agent: str | None = None) -> Conversation:
    c = Conversation.open(id="c", business_number_id="bn", customer_id="cust", now=NOW)
    return c.assign_to(agent, NOW) if agent else c


def test_new_conversation_goes_to_the_next_agent() -> None:
    assert service.decide(None, False, "a2") == AssignNewAgent("a2")


def test_new_conversation_without_anyone_is_pending() -> None:
    assert service.decide(None, False, None) == Pending()


def test_available_current_agent_keeps_the_conversation() -> None:
    assert service.decide(conv("a1"), True, "a2") == KeepCurrentAgent("a1")
    assert service.decide(conv("a1"), True, None) == KeepCurrentAgent("a1")


def test_unavailable_current_agent_hands_over_to_the_next() -> None:
    assert service.decide(conv("a1"), False, "a2") == AssignNewAgent("a2")


def test_unavailable_current_agent_and_nobody_else_is_pending() -> None:
    assert service.decide(conv("a1"), False, None) == Pending()


def test_pending_conversation_goes_to_the_next_agent() -> None:
    assert service.decide(conv(), False, "a3") == AssignNewAgent("a3")
    # "current agent available" means nothing when there is no current agent
    assert service.decide(conv(), True, "a3") == AssignNewAgent("a3")
    assert service.decide(conv(), True, None) == Pending()


def test_a_closed_conversation_is_never_assigned() -> None:
    closed = conv("a1").close(NOW, "agent")
    with pytest.raises(ConversationAlreadyClosed):
        service.decide(closed, False, "a2")


def test_decisions_carry_their_type_literal() -> None:
    assert KeepCurrentAgent("a").type == "KEEP_CURRENT_AGENT"
    assert AssignNewAgent("a").type == "ASSIGN_NEW_AGENT"
    assert Pending().type == "PENDING"


@given(
    agent=st.none() | st.sampled_from(["a1", "a2"]),
    available=st.booleans(),
    next_agent=st.none() | st.sampled_from(["a2", "a3"]),
)
def test_needs_next_agent_says_exactly_when_decide_reads_it(
    agent: str | None, available: bool, next_agent: str | None
) -> None:
    conversation = conv(agent)
    decision = service.decide(conversation, available, next_agent)
    if not service.needs_next_agent(conversation, available):
        assert decision == service.decide(conversation, available, None) == KeepCurrentAgent(agent or "")
    else:
        assert decision == (AssignNewAgent(next_agent) if next_agent else Pending())


@pytest.mark.parametrize(
    ("status", "available"),
    [(PresenceStatus.ONLINE, True), (PresenceStatus.GRACE, True), (PresenceStatus.OFFLINE, False)],
)
def test_availability_includes_the_grace_period(status: PresenceStatus, available: bool) -> None:
    presence = AgentPresence(agent_id="a", status=status, changed_at=NOW)
    assert service.is_agent_available(presence) is available
    assert service.is_agent_available(None) is False


def test_reassignment_prefers_another_agent_then_keeps_then_pends() -> None:
    assert service.decide_reassignment(conv("a1"), True, "a2") == AssignNewAgent("a2")
    assert service.decide_reassignment(conv("a1"), True, None) == KeepCurrentAgent("a1")
    assert service.decide_reassignment(conv("a1"), True, "a1") == KeepCurrentAgent("a1")
    assert service.decide_reassignment(conv("a1"), False, None) == Pending()
    with pytest.raises(ConversationAlreadyClosed):
        service.decide_reassignment(conv("a1").close(NOW, "agent"), True, "a2")
