"""Deadlines (rules 4, 6 and 7) as pure decisions: no I/O, no clock of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatcher_core.entities import AgentPresence, Conversation, PresenceStatus
from dispatcher_core.settings import DispatcherSettings
from dispatcher_core.types import CloseConversation, NoTimeoutAction, ReassignConversation, TimeoutDecision

__all__ = ["TimeoutCutoffs", "TimeoutPolicy"]


@dataclass(frozen=True, slots=True)
class TimeoutCutoffs:
    """Bounds a repository uses to pre-select candidates; :meth:`TimeoutPolicy.evaluate` still decides."""

    unanswered_before: datetime
    inactive_before: datetime


class TimeoutPolicy:
    __slots__ = ("_grace", "_inactivity", "_response")

    def __init__(self, settings: DispatcherSettings) -> None:
        self._response = settings.response_timeout
        self._inactivity = settings.inactivity_timeout
        self._grace = settings.disconnect_grace

    def evaluate(self, conversation: Conversation, now: datetime) -> TimeoutDecision:
        """Rule 6: an assigned conversation whose customer has waited for an answer longer than the response
        timeout leaves its agent. The wait counts from the oldest unanswered message, or from the assignment
        if that is later: an agent who just received a conversation gets the full timeout to answer it.

        Rule 7: a conversation with nothing unanswered and no message either way for the inactivity timeout
        is closed. A conversation with an unanswered message is never closed for inactivity.
        """
        if not conversation.is_open:
            return NoTimeoutAction()
        if conversation.oldest_unanswered_at is not None:
            if conversation.agent_id is None:
                return NoTimeoutAction()
            waiting_since = conversation.oldest_unanswered_at
            if conversation.assigned_at is not None and conversation.assigned_at > waiting_since:
                waiting_since = conversation.assigned_at
            if now - waiting_since >= self._response:
                return ReassignConversation(conversation.agent_id)
            return NoTimeoutAction()
        if now - conversation.last_activity_at >= self._inactivity:
            return CloseConversation("inactivity")
        return NoTimeoutAction()

    def cutoffs(self, now: datetime) -> TimeoutCutoffs:
        return TimeoutCutoffs(unanswered_before=now - self._response, inactive_before=now - self._inactivity)

    def grace_deadline(self, disconnected_at: datetime) -> datetime:
        """Rule 4: when a disconnected agent's conversations stop being kept for them."""
        return disconnected_at + self._grace

    def grace_expired(self, presence: AgentPresence, now: datetime) -> bool:
        return (
            presence.status is PresenceStatus.GRACE and presence.grace_until is not None and now >= presence.grace_until
        )

    @property
    def response_timeout(self) -> timedelta:
        return self._response
