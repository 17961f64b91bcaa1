"""The in-memory store and its unit of work.

Isolation: a unit of work holds the store's lock from ``__aenter__`` to ``__aexit__``, so units of work run
one at a time and never see each other's uncommitted writes. Atomicity: writes go straight into the state
and every write pushes its inverse onto an undo journal; leaving without ``commit`` replays the journal
backwards. Indexes make the hot path O(1) in the number of conversations and agents.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

from dispatcher_adapters.memory.outbox import MemoryOutbox
from dispatcher_core.entities import (
    AgentPresence,
    Conversation,
    ConversationStatus,
    Message,
    PendingMessage,
    PresenceStatus,
)
from dispatcher_core.errors import ConcurrencyConflict, ConversationAlreadyOpen, ConversationNotFound, InvalidInput
from dispatcher_core.events import DomainEvent

__all__ = ["MemoryStore", "MemoryUnitOfWork", "PublishedAfterCommit"]

Undo = Callable[[], None]
K = TypeVar("K")
V = TypeVar("V")
_PendingKey = tuple[datetime, datetime, str]


def _pending_key(conversation: Conversation) -> _PendingKey:
    return (conversation.pending_since or conversation.opened_at, conversation.opened_at, conversation.id)


@dataclass
class _State:
    conversations: dict[str, Conversation] = field(default_factory=dict)
    open_by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    open_ids: dict[str, None] = field(default_factory=dict)
    by_agent: dict[str, dict[str, None]] = field(default_factory=dict)
    pending_conversations: dict[str, _PendingKey] = field(default_factory=dict)
    pending_heap: list[_PendingKey] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)
    messages_by_conversation: dict[str, list[str]] = field(default_factory=dict)
    message_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    pending: dict[str, tuple[int, PendingMessage]] = field(default_factory=dict)
    pending_by_conversation: dict[str, dict[str, None]] = field(default_factory=dict)
    queue: dict[str, None] = field(default_factory=dict)
    presence: dict[str, AgentPresence] = field(default_factory=dict)
    slots: dict[tuple[str, str], datetime] = field(default_factory=dict)


class MemoryStore:
    """Shared in-process state. ``unit_of_work`` is the :class:`~dispatcher_core.ports.UnitOfWorkFactory`.

    Units of work run one at a time (they hold ``_lock``), so the repositories and the undo journal are
    created once per store and shared by every unit of work: a unit of work is just the right to use them.
    """

    def __init__(self) -> None:
        self._state = _State()
        self._lock = asyncio.Lock()
        self._undo: list[Undo] = []
        self._conversations = _Conversations(self._state, self._undo)
        self._pending = _Pending(self._state, self._undo, itertools.count())
        self._queue = _Queue(self._state, self._undo)
        self._presence = _Presence(self._state, self._undo)
        self._slots = _Slots(self._state, self._undo)
        self._outbox = MemoryOutbox(self._undo)

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def purge_closed(self, closed_before: datetime, limit: int) -> list[str]:
        """Delete up to ``limit`` conversations closed before the cutoff with their messages and their keys.
        Only inside a unit of work (it holds the lock); not journaled: the caller commits at once."""
        s = self._state
        found = [
            c.id
            for c in s.conversations.values()
            if not c.is_open and c.closed_at is not None and c.closed_at < closed_before
        ][:limit]
        for conversation_id in found:
            del s.conversations[conversation_id]
            for message_id in s.messages_by_conversation.pop(conversation_id, []):
                message = s.messages.pop(message_id)
                s.message_keys.pop((message.business_number_id, message.external_id), None)
            s.pending_by_conversation.pop(conversation_id, None)
        return found


class MemoryUnitOfWork:
    __slots__ = ("_active", "_committed", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._active = False
        self._committed = False

    def _check(self) -> MemoryStore:
        if not self._active:
            raise RuntimeError("use a unit of work inside 'async with', and only once")
        return self._store

    @property
    def conversations(self) -> _Conversations:
        return self._check()._conversations

    @property
    def pending(self) -> _Pending:
        return self._check()._pending

    @property
    def queue(self) -> _Queue:
        return self._check()._queue

    @property
    def presence(self) -> _Presence:
        return self._check()._presence

    @property
    def slots(self) -> _Slots:
        return self._check()._slots

    @property
    def events(self) -> PublishedAfterCommit:
        """Events of this process reach its subscribers through the publisher: nothing to keep here."""
        return _PUBLISHED_AFTER_COMMIT

    @property
    def outbox(self) -> MemoryOutbox:
        return self._check()._outbox

    async def __aenter__(self) -> Self:
        await self._store._lock.acquire()
        self._active = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            self._active = False
            self._store._lock.release()

    async def commit(self) -> None:
        store = self._check()
        if self._committed:
            raise InvalidInput("this unit of work has already committed")
        store._undo.clear()
        self._committed = True

    async def rollback(self) -> None:
        undo = self._check()._undo
        while undo:
            undo.pop()()


def _set(undo: list[Undo], mapping: dict[K, V], key: K, value: V) -> None:
    """Set ``mapping[key]``, journaling the inverse. Only for mappings whose order does not matter."""
    if key in mapping:
        old = mapping[key]
        undo.append(lambda: mapping.__setitem__(key, old))
    else:
        undo.append(lambda: mapping.pop(key, None))  # type: ignore[arg-type]  # mypy cannot see pop's default
    mapping[key] = value


def _delete(undo: list[Undo], mapping: dict[K, V], key: K) -> None:
    if key in mapping:
        old = mapping.pop(key)
        undo.append(lambda: mapping.__setitem__(key, old))


class _Conversations:
    def __init__(self, state: _State, undo: list[Undo]) -> None:
        self._s = state
        self._undo = undo

    async def get(self, conversation_id: str) -> Conversation | None:
        return self._s.conversations.get(conversation_id)

    async def get_open_by_key(self, business_number_id: str, customer_id: str) -> Conversation | None:
        conversation_id = self._s.open_by_key.get((business_number_id, customer_id))
        return None if conversation_id is None else self._s.conversations[conversation_id]

    async def add(self, conversation: Conversation) -> None:
        if conversation.id in self._s.conversations:
            raise ConcurrencyConflict(f"conversation {conversation.id} already exists")
        key = (conversation.business_number_id, conversation.customer_id)
        if conversation.is_open and key in self._s.open_by_key:
            raise ConversationAlreadyOpen(f"an open conversation exists for {key}")
        self._put(None, conversation.with_version(0))

    async def save(self, conversation: Conversation) -> None:
        stored = self._s.conversations.get(conversation.id)
        if stored is None:
            raise ConversationNotFound(conversation.id)
        if stored.version != conversation.version:
            raise ConcurrencyConflict(
                f"conversation {conversation.id} is at version {stored.version}, not {conversation.version}"
            )
        if conversation.is_open and not stored.is_open:
            raise ConcurrencyConflict(f"conversation {conversation.id} is closed and cannot be reopened")
        self._put(stored, conversation.with_version(conversation.version + 1))

    def _put(self, old: Conversation | None, new: Conversation) -> None:
        """Store ``new`` in place of ``old`` and keep every index in step, journaling each change."""
        s, undo = self._s, self._undo
        _set(undo, s.conversations, new.id, new)
        key = (new.business_number_id, new.customer_id)
        if new.is_open:
            _set(undo, s.open_by_key, key, new.id)
            _set(undo, s.open_ids, new.id, None)
        elif old is not None and old.is_open:
            _delete(undo, s.open_by_key, key)
            _delete(undo, s.open_ids, new.id)
        old_agent = old.agent_id if old is not None and old.is_open else None
        new_agent = new.agent_id if new.is_open else None
        if old_agent != new_agent:
            if old_agent is not None:
                _delete(undo, s.by_agent[old_agent], new.id)
            if new_agent is not None:
                _set(undo, s.by_agent.setdefault(new_agent, {}), new.id, None)
        if new.is_pending:
            pending_key = _pending_key(new)
            if s.pending_conversations.get(new.id) != pending_key:
                _set(undo, s.pending_conversations, new.id, pending_key)
                heapq.heappush(s.pending_heap, pending_key)  # stale heap entries are skipped on read
        else:
            _delete(undo, s.pending_conversations, new.id)

    async def list_pending(self, limit: int | None = None) -> Sequence[Conversation]:
        s = self._s
        if limit is None:
            keys = sorted(s.pending_conversations.values())
            return [s.conversations[key[2]] for key in keys]
        # Drop stale heap entries from the top, then read the smallest ``limit`` live ones.
        while s.pending_heap and s.pending_conversations.get(s.pending_heap[0][2]) != s.pending_heap[0]:
            heapq.heappop(s.pending_heap)
        if limit == 1:
            return [s.conversations[s.pending_heap[0][2]]] if s.pending_heap else []
        keys = heapq.nsmallest(limit, set(s.pending_conversations.values()))
        return [s.conversations[key[2]] for key in keys]

    async def list_by_agent(self, agent_id: str) -> Sequence[Conversation]:
        found = [self._s.conversations[cid] for cid in self._s.by_agent.get(agent_id, {})]
        return sorted(found, key=lambda c: (c.assigned_at or c.opened_at, c.id))

    async def list(
        self,
        *,
        status: ConversationStatus | None = None,
        agent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Conversation]:
        if agent_id is not None and status is not ConversationStatus.CLOSED:
            candidates: list[Conversation] = list(await self.list_by_agent(agent_id))
        else:
            candidates = list(self._s.conversations.values())
        selected = [
            c
            for c in candidates
            if (status is None or c.status is status) and (agent_id is None or c.agent_id == agent_id)
        ]
        selected.sort(key=lambda c: (c.last_activity_at, c.id), reverse=True)
        return selected[offset : offset + limit]

    async def count_pending(self) -> int:
        return len(self._s.pending_conversations)

    async def count_active_by_agent(self) -> Mapping[str, int]:
        return {agent: len(ids) for agent, ids in self._s.by_agent.items() if ids}

    async def list_timeout_candidates(
        self, *, unanswered_before: datetime, inactive_before: datetime
    ) -> Sequence[Conversation]:
        found = []
        for conversation_id in self._s.open_ids:
            c = self._s.conversations[conversation_id]
            if c.oldest_unanswered_at is not None:
                if c.agent_id is not None and c.oldest_unanswered_at <= unanswered_before:
                    found.append(c)
            elif c.last_activity_at <= inactive_before:
                found.append(c)
        return found

    async def add_message(self, message: Message) -> bool:
        s, undo = self._s, self._undo
        key = (message.business_number_id, message.external_id)
        if key in s.message_keys or message.id in s.messages:
            return False
        _set(undo, s.message_keys, key, message.id)
        _set(undo, s.messages, message.id, message)
        ids = s.messages_by_conversation.setdefault(message.conversation_id, [])
        ids.append(message.id)
        undo.append(lambda: ids.remove(message.id))
        return True

    async def get_messages(self, conversation_id: str) -> Sequence[Message]:
        return [self._s.messages[mid] for mid in self._s.messages_by_conversation.get(conversation_id, ())]

    async def mark_delivered(self, message_ids: Sequence[str], agent_id: str) -> None:
        for message_id in message_ids:
            message = self._s.messages.get(message_id)
            if message is not None:
                _set(self._undo, self._s.messages, message_id, message.delivered(agent_id))


class _Pending:
    def __init__(self, state: _State, undo: list[Undo], sequence: itertools.count[int]) -> None:
        self._s = state
        self._undo = undo
        self._sequence = sequence

    async def add(self, pending: PendingMessage) -> None:
        if pending.id in self._s.pending:
            raise ConcurrencyConflict(f"pending message {pending.id} already exists")
        _set(self._undo, self._s.pending, pending.id, (next(self._sequence), pending))
        by_conversation = self._s.pending_by_conversation.setdefault(pending.conversation_id, {})
        _set(self._undo, by_conversation, pending.id, None)

    async def list(self, conversation_id: str | None = None, limit: int | None = None) -> Sequence[PendingMessage]:
        if conversation_id is None:
            entries = sorted(self._s.pending.values(), key=lambda entry: entry[0])
        else:
            ids = self._s.pending_by_conversation.get(conversation_id, {})
            entries = sorted((self._s.pending[pid] for pid in ids), key=lambda entry: entry[0])
        return [entry[1] for entry in entries[:limit]]

    async def remove(self, pending_id: str) -> bool:
        entry = self._s.pending.get(pending_id)
        if entry is None:
            return False
        _delete(self._undo, self._s.pending, pending_id)
        _delete(self._undo, self._s.pending_by_conversation[entry[1].conversation_id], pending_id)
        return True

    async def count(self) -> int:
        return len(self._s.pending)


class _Queue:
    """An insertion-ordered dict is the queue. Undoing a move or a removal puts the agent back at the
    position it had, found by scanning from the head (rollbacks are rare; the head is the common case)."""

    def __init__(self, state: _State, undo: list[Undo]) -> None:
        self._s = state
        self._undo = undo

    async def list(self) -> Sequence[str]:
        return list(self._s.queue)

    async def head(self, limit: int) -> Sequence[str]:
        return list(itertools.islice(self._s.queue, limit))

    async def add(self, agent_id: str) -> bool:
        queue = self._s.queue
        if agent_id in queue:
            return False
        queue[agent_id] = None
        self._undo.append(lambda: queue.pop(agent_id, None))
        return True

    async def remove(self, agent_id: str) -> bool:
        if agent_id not in self._s.queue:
            return False
        self._journal_position(agent_id)
        del self._s.queue[agent_id]
        return True

    async def move_to_end(self, agent_id: str) -> bool:
        if agent_id not in self._s.queue:
            return False
        self._journal_position(agent_id)
        del self._s.queue[agent_id]
        self._s.queue[agent_id] = None
        return True

    def _journal_position(self, agent_id: str) -> None:
        queue = self._s.queue
        position = next(index for index, queued in enumerate(queue) if queued == agent_id)

        def restore() -> None:
            order = [queued for queued in queue if queued != agent_id]
            order.insert(position, agent_id)
            queue.clear()
            queue.update(dict.fromkeys(order))

        self._undo.append(restore)


class _Presence:
    def __init__(self, state: _State, undo: list[Undo]) -> None:
        self._s = state
        self._undo = undo

    async def get(self, agent_id: str) -> AgentPresence | None:
        return self._s.presence.get(agent_id)

    async def save(self, presence: AgentPresence) -> None:
        stored = self._s.presence.get(presence.agent_id)
        stored_version = 0 if stored is None else stored.version
        if stored_version != presence.version:
            raise ConcurrencyConflict(
                f"presence of {presence.agent_id} is at version {stored_version}, not {presence.version}"
            )
        _set(self._undo, self._s.presence, presence.agent_id, presence.with_version(presence.version + 1))

    async def list(self, status: PresenceStatus | None = None) -> Sequence[AgentPresence]:
        found = [p for p in self._s.presence.values() if status is None or p.status is status]
        return sorted(found, key=lambda p: p.agent_id)


class PublishedAfterCommit:
    """The :class:`~dispatcher_core.ports.EventJournal` of a store that does not carry events: recording does
    nothing, the :class:`~dispatcher_core.ports.EventPublisher` delivers them after the commit."""

    __slots__ = ()

    async def record(self, events: Sequence[DomainEvent]) -> None:
        return None


_PUBLISHED_AFTER_COMMIT = PublishedAfterCommit()


class _Slots:
    def __init__(self, state: _State, undo: list[Undo]) -> None:
        self._s = state
        self._undo = undo

    async def claim(self, job: str, slot: str, at: datetime) -> bool:
        if (job, slot) in self._s.slots:
            return False
        _set(self._undo, self._s.slots, (job, slot), at)
        return True

    async def unclaim(self, job: str, slot: str) -> bool:
        if (job, slot) not in self._s.slots:
            return False
        _delete(self._undo, self._s.slots, (job, slot))
        return True
