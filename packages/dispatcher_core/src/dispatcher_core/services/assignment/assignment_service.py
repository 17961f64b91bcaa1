"""The business brain (seed: ``assignment.service.ts``): pure decisions, no I/O, no framework.

It never writes and never emits; the orchestrator applies what it returns.
"""

from __future__ import annotations

from dispatcher_core.entities import AgentPresence, Conversation, PresenceStatus
from dispatcher_core.errors import ConversationAlreadyClosed
from dispatcher_core.types import AssignmentDecision, AssignNewAgent, KeepCurrentAgent, Pending

__all__ = ["AssignmentService"]

_KEEPING_STATUSES = frozenset({PresenceStatus.ONLINE, PresenceStatus.GRACE})


class AssignmentService:
    __slots__ = ()

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
