"""The store's outbox, one unit of work per call: what the sender, the status webhook and the statistics use.

Every unit of work has an outbox (``uow.outbox``); code that writes an outbound message together with the
conversation (an agent's reply) uses it inside its own unit of work. Code that only moves one message along
(the sender claiming it, a status webhook, recovery) needs no more than one call per unit of work:
:class:`UnitOfWorkOutbox` is an :class:`~dispatcher_core.ports.outbox_repository.OutboxRepository` doing
exactly that, so the delivery code is the same whatever the store (memory, SQL, Redis).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from dispatcher_core.errors import ConcurrencyConflict
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports.outbox_repository import OutboxCount, OutboxRepository
from dispatcher_core.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["UnitOfWorkOutbox"]

T = TypeVar("T")
_ADD_ATTEMPTS = 5


class UnitOfWorkOutbox:
    """Each method runs in a unit of work of its own, committed before it returns (durable once it returned)."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def _write(self, action: Callable[[OutboxRepository], Awaitable[T]]) -> T:
        async with self._uow_factory() as uow:
            result = await action(uow.outbox)
            await uow.commit()
            return result

    async def _read(self, action: Callable[[OutboxRepository], Awaitable[T]]) -> T:
        async with self._uow_factory() as uow:
            return await action(uow.outbox)

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        # A concurrent add of the same (agent, client_id) may conflict at commit: the retry finds it stored.
        for attempt in range(_ADD_ATTEMPTS):
            try:
                return await self._write(lambda outbox: outbox.add(message))
            except ConcurrencyConflict:
                if attempt == _ADD_ATTEMPTS - 1:
                    raise
                if await self.get(message.id) is not None:
                    raise
        raise AssertionError("unreachable")

    async def get(self, reference: str) -> OutboundMessage | None:
        return await self._read(lambda outbox: outbox.get(reference))

    async def get_by_wamid(self, wamid: str) -> OutboundMessage | None:
        return await self._read(lambda outbox: outbox.get_by_wamid(wamid))

    async def get_by_client_id(self, agent_id: str, client_id: str) -> OutboundMessage | None:
        return await self._read(lambda outbox: outbox.get_by_client_id(agent_id, client_id))

    async def save(self, message: OutboundMessage) -> OutboundMessage:
        return await self._write(lambda outbox: outbox.save(message))

    async def list_by_status(
        self, status: OutboundStatus, *, updated_before: datetime | None = None, limit: int = 100
    ) -> Sequence[OutboundMessage]:
        return await self._read(
            lambda outbox: outbox.list_by_status(status, updated_before=updated_before, limit=limit)
        )

    async def list_due(self, now: datetime, *, limit: int = 100) -> Sequence[OutboundMessage]:
        return await self._read(lambda outbox: outbox.list_due(now, limit=limit))

    async def list_by_conversation(self, conversation_id: str) -> Sequence[OutboundMessage]:
        return await self._read(lambda outbox: outbox.list_by_conversation(conversation_id))

    async def count_created_between(self, start: datetime, end: datetime) -> Sequence[OutboxCount]:
        return await self._read(lambda outbox: outbox.count_created_between(start, end))
