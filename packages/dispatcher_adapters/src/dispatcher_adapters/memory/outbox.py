"""An in-memory :class:`~dispatcher_core.ports.outbox_repository.OutboxRepository`.

One process, no persistence: for tests, the simulator and the demo. Every method runs without awaiting
anything in between its reads and writes, so on one event loop each call is atomic, which is what makes the
compare-and-set of ``save`` and the unique keys hold under concurrent tasks.

:class:`~dispatcher_adapters.memory.store.MemoryStore` gives each unit of work the store's own instance,
built with the store's undo journal: every write pushes its inverse, so a unit of work that does not commit
leaves the outbox as it found it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dispatcher_core.errors import ConcurrencyConflict, NotFound
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports.outbox_repository import OutboxCount

__all__ = ["MemoryOutbox"]


class MemoryOutbox:
    def __init__(self, undo: list[Callable[[], None]] | None = None) -> None:
        """``undo``: a journal the inverse of every write is pushed on (a unit of work's), or ``None``."""
        self._messages: dict[str, OutboundMessage] = {}
        self._by_wamid: dict[str, str] = {}
        self._by_client: dict[tuple[str, str], str] = {}
        self._by_conversation: dict[str, list[str]] = {}
        self._undo = undo

    def _journal(self, inverse: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(inverse)

    def _set(self, target: dict[Any, Any], key: object, value: object) -> None:
        if key in target:
            old = target[key]
            self._journal(lambda: target.__setitem__(key, old))
        else:
            self._journal(lambda: target.pop(key, None))
        target[key] = value

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        client_key = self._client_key(message)
        if client_key is not None and client_key in self._by_client:
            return self._messages[self._by_client[client_key]]
        if message.id in self._messages:
            raise ConcurrencyConflict(f"outbound message {message.id} already exists")
        if message.wamid is not None and message.wamid in self._by_wamid:
            raise ConcurrencyConflict(f"wamid {message.wamid} already belongs to another message")
        stored = replace(message, version=0)
        self._set(self._messages, stored.id, stored)
        if client_key is not None:
            self._set(self._by_client, client_key, stored.id)
        if stored.wamid is not None:
            self._set(self._by_wamid, stored.wamid, stored.id)
        if stored.conversation_id is not None:
            ids = self._by_conversation.setdefault(stored.conversation_id, [])
            ids.append(stored.id)
            self._journal(lambda: ids.remove(stored.id))
        return stored

    async def get(self, reference: str) -> OutboundMessage | None:
        return self._messages.get(reference)

    async def get_by_wamid(self, wamid: str) -> OutboundMessage | None:
        reference = self._by_wamid.get(wamid)
        return None if reference is None else self._messages[reference]

    async def get_by_client_id(self, agent_id: str, client_id: str) -> OutboundMessage | None:
        reference = self._by_client.get((agent_id, client_id))
        return None if reference is None else self._messages[reference]

    async def save(self, message: OutboundMessage) -> OutboundMessage:
        stored = self._messages.get(message.id)
        if stored is None:
            raise NotFound(f"no outbound message {message.id}")
        if stored.version != message.version:
            raise ConcurrencyConflict(
                f"outbound message {message.id} is at version {stored.version}, not {message.version}"
            )
        if message.wamid is not None and self._by_wamid.get(message.wamid, message.id) != message.id:
            raise ConcurrencyConflict(f"wamid {message.wamid} already belongs to another message")
        if (message.agent_id, message.client_id, message.conversation_id) != (
            stored.agent_id,
            stored.client_id,
            stored.conversation_id,
        ):
            raise ConcurrencyConflict(f"outbound message {message.id}: its owner and keys cannot change")
        new = replace(message, version=stored.version + 1)
        self._set(self._messages, new.id, new)
        if new.wamid is not None:
            self._set(self._by_wamid, new.wamid, new.id)
        return new

    async def list_by_status(
        self, status: OutboundStatus, *, updated_before: datetime | None = None, limit: int = 100
    ) -> Sequence[OutboundMessage]:
        found = [
            message
            for message in self._messages.values()
            if message.status is status and (updated_before is None or message.updated_at < updated_before)
        ]
        found.sort(key=lambda message: (message.updated_at, message.created_at))
        return found[:limit]

    def forget_conversation(self, conversation_id: str) -> None:
        """Drop a purged conversation's messages and their keys (retention; not journaled)."""
        for reference in self._by_conversation.pop(conversation_id, []):
            message = self._messages.pop(reference)
            if message.wamid is not None:
                self._by_wamid.pop(message.wamid, None)
            client_key = self._client_key(message)
            if client_key is not None:
                self._by_client.pop(client_key, None)

    async def list_due(self, now: datetime, *, limit: int = 100) -> Sequence[OutboundMessage]:
        found = [
            message
            for message in self._messages.values()
            if message.status is OutboundStatus.QUEUED and (message.not_before is None or message.not_before <= now)
        ]
        found.sort(key=lambda message: (message.not_before or message.created_at, message.id))
        return found[:limit]

    async def list_by_conversation(self, conversation_id: str) -> Sequence[OutboundMessage]:
        return [self._messages[reference] for reference in self._by_conversation.get(conversation_id, ())]

    async def count_created_between(self, start: datetime, end: datetime) -> Sequence[OutboxCount]:
        counts = Counter(
            (message.template_name, message.status)
            for message in self._messages.values()
            if start <= message.created_at < end
        )
        return [OutboxCount(template, status, count) for (template, status), count in sorted(counts.items(), key=_key)]

    @staticmethod
    def _client_key(message: OutboundMessage) -> tuple[str, str] | None:
        if message.client_id is None or message.agent_id is None:
            return None
        return (message.agent_id, message.client_id)

    def __len__(self) -> int:
        return len(self._messages)


def _key(item: tuple[tuple[str | None, OutboundStatus], int]) -> tuple[str, str]:
    (template, status), _ = item
    return (template or "", status.value)
