"""The business brain (seed: ``assignment.service.ts``): pure decisions, no I/O, no framework.

It never writes and never emits; the orchestrator applies what it returns.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from dispatcher_core.entities import AgentPresence, Conversation, PresenceStatus
from dispatcher_core.errors import ConversationAlreadyClosed, InvalidInput
from dispatcher_core.types import AssignmentDecision, AssignNewAgent, KeepCurrentAgent, Pending, RoutingPolicy

__all__ = ["AssignmentService"]

_KEEPING_STATUSES = frozenset({PresenceStatus.ONLINE, PresenceStatus.GRACE})


class AssignmentService:
    """Decides who takes a conversation. ``policy`` and ``capacity`` (most open conversations per agent, 0 for
    unlimited) are the settings of the same names: they decide which queued agent is the next one."""

    __slots__ = ("_capacity", "_policy")

    def __init__(self, policy: RoutingPolicy = RoutingPolicy.ROUND_ROBIN, capacity: int = 0) -> None:
        if capacity < 0:
            raise InvalidInput(f"capacity must be >= 0 (0 = unlimited), got {capacity}")
        self._policy = RoutingPolicy(policy)
        self._capacity = capacity

    @property
    def policy(self) -> RoutingPolicy:
        return self._policy

    @property
    def needs_loads(self) -> bool:
        """Whether picking the next agent depends on agents' loads (open conversations per agent), so whether
        the caller must read them: only when a capacity is set, or when the policy compares loads
        (``least_busy``). This is the one statement of that rule; the orchestrator and the stores that
        prefetch loads (Redis ``prefetch_loads``) follow it."""
        return bool(self._capacity) or self._policy is RoutingPolicy.LEAST_BUSY

    @property
    def reads_whole_queue(self) -> bool:
        """Whether :meth:`pick_next_agent` must see every queued agent (``least_busy``) rather than the queue's
        head, read further only while nobody read so far can take work (``round_robin``)."""
        return self._policy is RoutingPolicy.LEAST_BUSY

    def pick_next_agent(
        self, queued: Sequence[str], loads: Mapping[str, int], exclude: Collection[str] = ()
    ) -> str | None:
        """Rule 2: the next agent among ``queued`` (head first), or ``None`` if none can take work.

        Agents at capacity (per ``loads``) and ``exclude``d agents are skipped, without being moved: they keep
        their turn. ``round_robin`` takes the first remaining one; ``least_busy`` the one with the fewest open
        conversations, the nearest the head among equals.
        """
        eligible = [
            agent_id
            for agent_id in queued
            if agent_id not in exclude and not (self._capacity and loads.get(agent_id, 0) >= self._capacity)
        ]
        if not eligible:
            return None
        if self._policy is RoutingPolicy.ROUND_ROBIN:
            return eligible[0]
        return min(eligible, key=lambda agent_id: loads.get(agent_id, 0))  # min keeps the first of equals

    def decide(
        self,
        conversation: Conversation | None,
        current_agent_available: bool,
        next_agent: str | None,
    ) -> AssignmentDecision:
        """Rule 1: keep a conversation with its agent while they are available, otherwise hand it to the next
        agent of the round-robin, otherwise leave it pending.

        ``conversation`` is ``None`` for a customer without an open conversation. A closed conversation is
        refused (I8): the caller must open a new one.
        """
        if conversation is not None:
            if not conversation.is_open:
                raise ConversationAlreadyClosed(f"conversation {conversation.id} is closed and cannot be assigned")
            if conversation.agent_id is not None and current_agent_available:
                return KeepCurrentAgent(conversation.agent_id)
        if next_agent is not None:
            return AssignNewAgent(next_agent)
        return Pending()

    def decide_reassignment(
        self,
        conversation: Conversation,
        current_agent_available: bool,
        next_other_agent: str | None,
    ) -> AssignmentDecision:
        """Rule 6, after the response timeout: the conversation goes to another agent (``next_other_agent``,
        the next of the round-robin that is not its current agent). With nobody else to take it, it stays with
        its agent while they are available - making it pending would only hand it straight back to them (I6)
        - and becomes pending otherwise."""
        if not conversation.is_open:
            raise ConversationAlreadyClosed(f"conversation {conversation.id} is closed and cannot be assigned")
        if next_other_agent is not None and next_other_agent != conversation.agent_id:
            return AssignNewAgent(next_other_agent)
        if conversation.agent_id is not None and current_agent_available:
            return KeepCurrentAgent(conversation.agent_id)
        return Pending()

    def needs_next_agent(self, conversation: Conversation | None, current_agent_available: bool) -> bool:
        """Whether :meth:`decide` would look at the next agent: lets the caller skip reading the queue (and
        taking its lock) when the current agent keeps the conversation. Same rule as ``decide``."""
        return not (
            conversation is not None
            and conversation.is_open
            and conversation.agent_id is not None
            and current_agent_available
        )

    def is_agent_available(self, presence: AgentPresence | None) -> bool:
        """An agent keeps their conversations while online, and during the grace period after their last
        socket closed (rule 4)."""
        return presence is not None and presence.status in _KEEPING_STATUSES
