"""AssignmentService (seed: ``tests/assignment.service.spec.ts``): a pure decision, testable without anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher_core import (
    AssignmentService,
    AssignNewAgent,
    Conversation,
    DispatcherSettings,
    KeepCurrentAgent,
    Pending,
    RoutingPolicy,
)
from dispatcher_core.entities import AgentPresence, PresenceStatus
from dispatcher_core.errors import ConversationAlreadyClosed, InvalidInput

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


# ---------------------------------------------------------------- picking the next agent (rule 2, policies)


def test_round_robin_picks_the_first_eligible_from_the_head() -> None:
    rr = AssignmentService(RoutingPolicy.ROUND_ROBIN, capacity=2)
    assert rr.pick_next_agent(["a", "b", "c"], {"a": 5, "b": 1}) == "b"  # a is full; b is next, busier than c
    assert rr.pick_next_agent(["a", "b", "c"], {}) == "a"
    assert rr.pick_next_agent(["a", "b", "c"], {}, exclude={"a"}) == "b"
    assert rr.pick_next_agent(["a", "b"], {"a": 2, "b": 2}) is None
    assert rr.pick_next_agent([], {}) is None


def test_least_busy_picks_the_fewest_open_conversations_nearest_the_head_among_equals() -> None:
    lb = AssignmentService(RoutingPolicy.LEAST_BUSY)
    assert lb.pick_next_agent(["a", "b", "c"], {"a": 3, "b": 1, "c": 1}) == "b"
    assert lb.pick_next_agent(["c", "b", "a"], {"a": 3}) == "c"  # b and c idle: the head's
    assert lb.pick_next_agent(["a", "b"], {"b": 1}, exclude={"a"}) == "b"
    capped = AssignmentService("least_busy", capacity=2)  # type: ignore[arg-type]  # a plain string, like the CLI's
    assert capped.pick_next_agent(["a", "b"], {"a": 2, "b": 2}) is None


def test_loads_are_needed_only_with_a_capacity_or_least_busy() -> None:
    assert not AssignmentService().needs_loads
    assert AssignmentService(capacity=3).needs_loads
    assert AssignmentService(RoutingPolicy.LEAST_BUSY).needs_loads
    assert AssignmentService(RoutingPolicy.LEAST_BUSY).reads_whole_queue
    assert not AssignmentService(capacity=3).reads_whole_queue


def test_a_bad_policy_or_capacity_is_refused() -> None:
    with pytest.raises(InvalidInput):
        DispatcherSettings(routing_policy="fastest")  # type: ignore[arg-type]  # what a typo in a setting gives
    with pytest.raises(ValueError, match="fastest"):
        AssignmentService("fastest")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        AssignmentService(capacity=-1)
    assert DispatcherSettings(routing_policy="least_busy").routing_policy is RoutingPolicy.LEAST_BUSY  # type: ignore[arg-type]
