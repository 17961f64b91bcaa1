"""Retention on the memory store (:class:`~dispatcher_core.ports.ConversationPurge`)."""

from __future__ import annotations

from datetime import datetime

from dispatcher_adapters.memory.store import MemoryStore

__all__ = ["MemoryPurge"]


class MemoryPurge:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def purge_closed(self, closed_before: datetime, *, limit: int = 100) -> int:
        async with self._store.unit_of_work() as uow:
            purged = self._store.purge_closed(closed_before, limit)
            for conversation_id in purged:
                uow.outbox.forget_conversation(conversation_id)
            await uow.commit()
        return len(purged)
