"""Pending messages: customer messages waiting for an agent (rule 5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dispatcher_core.entities import PendingMessage

__all__ = ["PendingStore"]


class PendingStore(Protocol):
    """Durable and ordered: a pending message is never lost and never handed out twice.

    Reached through a :class:`~dispatcher_core.ports.UnitOfWork`: an ``add`` or ``remove`` takes effect at
    commit, atomically with the conversation change that caused it, so a crash between two steps cannot
    leave a message both delivered and pending, or neither.
    """

    async def add(self, pending: PendingMessage) -> None:
        """Keep a pending message. Its place in arrival order is the order of ``add`` calls that committed."""
        ...

    async def list(self, conversation_id: str | None = None, limit: int | None = None) -> Sequence[PendingMessage]:
        """Pending messages in arrival order, of one conversation or of all."""
        ...

    async def remove(self, pending_id: str) -> bool:
        """Remove one pending message; ``False`` if it was not there (already removed)."""
        ...

    async def count(self) -> int:
        """How many pending messages there are."""
        ...
