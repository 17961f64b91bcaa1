"""A conversation between one customer and the business, handled by at most one agent at a time."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from dispatcher_core.entities._evolve import evolve
from dispatcher_core.errors import ConversationAlreadyClosed, InvalidInput

__all__ = ["Conversation", "ConversationStatus"]


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation, keyed by (business phone number id, customer id); at most one open per key.

    ``agent_id`` is the agent handling it; an open conversation without one is *pending* (I5).
    ``version`` is the optimistic-concurrency counter: a repository stores a conversation only if the stored
    version still equals the one that was read, then increments it.
    """

    id: str
    business_number_id: str
    customer_id: str
    status: ConversationStatus
    opened_at: datetime
    last_activity_at: datetime
    customer_name: str | None = None
    agent_id: str | None = None
    assigned_at: datetime | None = None
    pending_since: datetime | None = None
    oldest_unanswered_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    version: int = 0

    @classmethod
    def open(
        cls,
        *,
        id: str,
        business_number_id: str,
        customer_id: str,
        now: datetime,
        customer_name: str | None = None,
    ) -> Conversation:
        if not business_number_id or not customer_id:
            raise InvalidInput("a conversation needs a business number id and a customer id")
        return cls(
            id=id,
            business_number_id=business_number_id,
            customer_id=customer_id,
            status=ConversationStatus.OPEN,
            opened_at=now,
            last_activity_at=now,
            customer_name=customer_name,
        )

    @property
    def is_open(self) -> bool:
        return self.status is ConversationStatus.OPEN

    @property
    def is_pending(self) -> bool:
        """Open with no agent (invariant I5)."""
        return self.is_open and self.agent_id is None

    def _ensure_open(self) -> None:
        if not self.is_open:
            raise ConversationAlreadyClosed(f"conversation {self.id} is closed")

    def assign_to(self, agent_id: str, now: datetime) -> Conversation:
        self._ensure_open()
        return evolve(self, agent_id=agent_id, assigned_at=now, pending_since=None)

    def release(self, now: datetime) -> Conversation:
        """Take the conversation from its agent: it becomes pending until the next distribution."""
        self._ensure_open()
        return evolve(self, agent_id=None, assigned_at=None, pending_since=self.pending_since or now)

    def record_customer_message(self, at: datetime) -> Conversation:
        self._ensure_open()
        return evolve(
            self,
            last_activity_at=max(self.last_activity_at, at),
            oldest_unanswered_at=self.oldest_unanswered_at or at,
        )

    def record_agent_reply(self, at: datetime) -> Conversation:
        self._ensure_open()
        return evolve(self, last_activity_at=max(self.last_activity_at, at), oldest_unanswered_at=None)

    def with_customer_name(self, name: str | None) -> Conversation:
        return self if name is None or name == self.customer_name else evolve(self, customer_name=name)

    def with_version(self, version: int) -> Conversation:
        """The same conversation as stored at ``version`` (for repositories)."""
        return evolve(self, version=version)

    def close(self, now: datetime, reason: str) -> Conversation:
        self._ensure_open()
        return evolve(
            self,
            status=ConversationStatus.CLOSED,
            agent_id=None,
            assigned_at=None,
            pending_since=None,
            closed_at=now,
            close_reason=reason,
        )
