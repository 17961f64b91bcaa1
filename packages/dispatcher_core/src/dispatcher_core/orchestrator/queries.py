"""The read side of the dispatcher, for a host application: the queue, conversations, what is pending.

The orchestrator changes state; :class:`DispatcherQueries` (``orchestrator.queries``) only reads it, each call
in one unit of work of its own that it never commits, so what it returns is one consistent snapshot of the
store. It is what the app's ``/admin`` routes answer with, and what an embedding backend calls to show the
same things in its own pages::

    queries = orchestrator.queries
    for entry in await queries.queue():
        print(entry.position, entry.agent_id, entry.status, entry.active_conversations)
    detail = await queries.conversation(conversation_id)     # None if unknown
    waiting = await queries.pending()                        # oldest first, with their waiting messages
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher_core.entities import Conversation, ConversationStatus, Message, PendingMessage, PresenceStatus
from dispatcher_core.ports import UnitOfWorkFactory
from dispatcher_core.services.queue import QueueService

__all__ = ["RESERVED_AGENT_PREFIX", "ConversationDetail", "DispatcherQueries", "PendingConversation", "QueueEntry"]

#: Presence records whose id starts with this are not agents (the app keeps its instances' heartbeats there).
RESERVED_AGENT_PREFIX = "~"


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One agent as the queue shows it. ``position`` is 1 for the head, ``None`` for an agent out of the
    queue who still matters (in grace, or offline still holding conversations). ``capacity`` 0 is
    unlimited."""

    agent_id: str
    position: int | None
    status: PresenceStatus
    connections: int
    active_conversations: int
    capacity: int


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    """A conversation with its messages (oldest first) and those still waiting for an agent."""

    conversation: Conversation
    messages: Sequence[Message]
    pending: Sequence[PendingMessage]


@dataclass(frozen=True, slots=True)
class PendingConversation:
    """A conversation waiting for an agent, and how many of its messages wait with it."""

    conversation: Conversation
    pending_messages: int


class DispatcherQueries:
    """Read-only views of the store, one consistent unit of work per call."""

    def __init__(self, uow_factory: UnitOfWorkFactory, capacity: int = 0) -> None:
        self._uow_factory = uow_factory
        self._capacity = capacity

    async def queue(self) -> Sequence[QueueEntry]:
        """Queued agents head first, then agents out of the queue who are in grace or still hold work
        (by id)."""
        async with self._uow_factory() as uow:
            positions = await QueueService(uow.queue).get_queue_positions()
            presences = {p.agent_id: p for p in await uow.presence.list()}
            loads = await uow.conversations.count_active_by_agent()
        queued = {position.agent_id for position in positions}
        others = sorted(
            agent_id
            for agent_id, presence in presences.items()
            if agent_id not in queued
            and not agent_id.startswith(RESERVED_AGENT_PREFIX)
            and (presence.status is not PresenceStatus.OFFLINE or loads.get(agent_id))
        )
        rows = [(p.agent_id, p.position) for p in positions] + [(agent_id, None) for agent_id in others]
        entries = []
        for agent_id, position in rows:
            presence = presences.get(agent_id)
            entries.append(
                QueueEntry(
                    agent_id=agent_id,
                    position=position,
                    status=PresenceStatus.ONLINE if presence is None else presence.status,
                    connections=0 if presence is None else len(presence.connections),
                    active_conversations=loads.get(agent_id, 0),
                    capacity=self._capacity,
                )
            )
        return entries

    async def conversation(self, conversation_id: str) -> ConversationDetail | None:
        """The conversation, its messages and its pending messages; ``None`` if there is no such id."""
        async with self._uow_factory() as uow:
            conversation = await uow.conversations.get(conversation_id)
            if conversation is None:
                return None
            messages = await uow.conversations.get_messages(conversation_id)
            pending = await uow.pending.list(conversation_id)
        return ConversationDetail(conversation, messages, pending)

    async def conversations(
        self,
        *,
        status: ConversationStatus | None = None,
        agent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Conversation]:
        """Conversations, most recent first, optionally of one status and/or one agent."""
        async with self._uow_factory() as uow:
            return await uow.conversations.list(status=status, agent_id=agent_id, limit=limit, offset=offset)

    async def pending(self, limit: int | None = None) -> Sequence[PendingConversation]:
        """Conversations waiting for an agent, oldest first (the order they will be handed out in)."""
        async with self._uow_factory() as uow:
            conversations = await uow.conversations.list_pending(limit)
            waiting = Counter(item.conversation_id for item in await uow.pending.list())
        return [PendingConversation(c, waiting.get(c.id, 0)) for c in conversations]

    async def pending_messages(self) -> int:
        """How many messages wait for an agent, all conversations together."""
        async with self._uow_factory() as uow:
            return await uow.pending.count()
