"""Conversations and their messages: the system of record of the dispatcher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from dispatcher_core.entities import Conversation, ConversationStatus, Message

__all__ = ["ConversationRepository"]


class ConversationRepository(Protocol):
    """Reached only through a :class:`~dispatcher_core.ports.UnitOfWork`; writes apply at its commit.

    Concurrency contract: ``add`` and ``save`` are checked against what other units of work committed.
    A conflict is reported as :class:`~dispatcher_core.errors.ConcurrencyConflict` either by the call itself
    or by the unit of work's ``commit``; in both cases nothing of the unit of work is applied.
    """

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with that id, open or closed, or ``None``."""
        ...

    async def get_open_by_key(self, business_number_id: str, customer_id: str) -> Conversation | None:
        """The one open conversation of that key, or ``None`` (I1: there is never more than one)."""
        ...

    async def add(self, conversation: Conversation) -> None:
        """Store a new conversation (its ``version`` is 0).

        Raises :class:`~dispatcher_core.errors.ConversationAlreadyOpen` if an open conversation with the same
        key exists or is being added concurrently: the store itself enforces I1, not only the caller.
        """
        ...

    async def save(self, conversation: Conversation) -> None:
        """Replace a stored conversation, as a compare-and-set on ``conversation.version``.

        Succeeds only if the stored version still equals ``conversation.version``; the stored copy then has
        ``version + 1``. Otherwise :class:`~dispatcher_core.errors.ConcurrencyConflict` (now or at commit).
        """
        ...

    async def list_pending(self, limit: int | None = None) -> Sequence[Conversation]:
        """Open conversations without an agent, oldest ``pending_since`` first (ties: oldest opened)."""
        ...

    async def count_pending(self) -> int:
        """How many conversations are pending (``len(list_pending())`` without reading them), this unit of
        work's own writes included."""
        ...

    async def list_by_agent(self, agent_id: str) -> Sequence[Conversation]:
        """Open conversations assigned to ``agent_id``, oldest assignment first."""
        ...

    async def list(
        self,
        *,
        status: ConversationStatus | None = None,
        agent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Conversation]:
        """Conversations for the admin API, most recently active first."""
        ...

    async def count_active_by_agent(self) -> Mapping[str, int]:
        """Number of open conversations per agent that has at least one (for capacity checks)."""
        ...

    async def list_timeout_candidates(
        self, *, unanswered_before: datetime, inactive_before: datetime
    ) -> Sequence[Conversation]:
        """Open conversations that *may* have a deadline past: a superset is fine, the policy decides.

        Those whose ``oldest_unanswered_at`` is at or before ``unanswered_before`` and have an agent, and those
        with nothing unanswered whose ``last_activity_at`` is at or before ``inactive_before``.
        """
        ...

    async def add_message(self, message: Message) -> bool:
        """Store a message once. ``False`` (and nothing stored) if a message with the same
        (``business_number_id``, ``external_id``) exists: the store enforces I2 with a unique key, so two
        concurrent units of work adding the same message never both succeed."""
        ...

    async def get_messages(self, conversation_id: str) -> Sequence[Message]:
        """The conversation's messages in arrival order."""
        ...

    async def mark_delivered(self, message_ids: Sequence[str], agent_id: str) -> None:
        """Record that pending messages were delivered to ``agent_id``."""
        ...
