"""Pending messages (seed: ``pending-message.service.ts``): stores and lists, never distributes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from dispatcher_core.entities import Message, PendingMessage
from dispatcher_core.ports import PendingStore

__all__ = ["PendingMessageService"]


class PendingMessageService:
    __slots__ = ("_new_id", "_store")

    def __init__(self, store: PendingStore, new_id: Callable[[], str]) -> None:
        self._store = store
        self._new_id = new_id

    async def add_pending_message(self, message: Message, now: datetime) -> PendingMessage:
        """Keep ``message`` until its conversation gets an agent."""
        pending = PendingMessage(
            id=self._new_id(), conversation_id=message.conversation_id, message_id=message.id, enqueued_at=now
        )
        await self._store.add(pending)
        return pending

    async def get_pending_messages(self, conversation_id: str | None = None) -> Sequence[PendingMessage]:
        """Arrival order; of one conversation, or all."""
        return await self._store.list(conversation_id)

    async def remove_pending_message(self, pending_id: str) -> bool:
        return await self._store.remove(pending_id)
