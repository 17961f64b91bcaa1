"""Conversations and messages (:class:`~dispatcher_core.ports.ConversationRepository`).

I1 is the partial unique index on the open key, I2 the unique (business number, external id): both checked
by the database, so two instances racing on one customer or one WhatsApp retry can never both win. ``save`` is
``UPDATE ... WHERE id = :id AND version = :expected`` - a compare-and-set that, under PostgreSQL's row locks,
waits for a concurrent writer and then fails on its new version instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from dispatcher_adapters.sql.rows import (
    conversation_from_row,
    conversation_params,
    message_from_row,
    message_params,
)
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.entities import Conversation, ConversationStatus, Message
from dispatcher_core.errors import ConcurrencyConflict, ConversationAlreadyOpen, ConversationNotFound, InvalidInput

__all__ = ["SqlConversationRepository"]


def _check_limit(limit: int | None, name: str = "limit") -> None:
    if limit is not None and limit < 0:
        raise InvalidInput(f"{name} must be >= 0, got {limit}")


class SqlConversationRepository:
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, conversation_id: str) -> Conversation | None:
        rows = await self._tx.fetch(self._tx.statements.conversation_by_id, {"id": conversation_id})
        return conversation_from_row(rows[0]) if rows else None

    async def get_open_by_key(self, business_number_id: str, customer_id: str) -> Conversation | None:
        rows = await self._tx.fetch(
            self._tx.statements.open_conversation_by_key,
            {"business_number_id": business_number_id, "customer_id": customer_id},
        )
        return conversation_from_row(rows[0]) if rows else None

    async def add(self, conversation: Conversation) -> None:
        params = conversation_params(conversation, version=0)
        if await self._tx.write(self._tx.statements.insert_conversation, params) == 1:
            return
        if await self._tx.fetch(self._tx.statements.conversation_exists, {"id": conversation.id}):
            raise ConcurrencyConflict(f"conversation {conversation.id} already exists")
        key = (conversation.business_number_id, conversation.customer_id)
        raise ConversationAlreadyOpen(f"an open conversation exists for {key}")

    async def save(self, conversation: Conversation) -> None:
        statements = self._tx.statements
        params = conversation_params(conversation, version=conversation.version + 1)
        params["expected_version"] = conversation.version
        params["where_id"] = params.pop("id")
        del params["business_number_id"], params["customer_id"]
        statement = statements.update_open_conversation if conversation.is_open else statements.update_conversation
        if await self._tx.write(statement, params) == 1:
            return
        stored = await self._tx.fetch(statements.conversation_exists, {"id": conversation.id})
        if not stored:
            raise ConversationNotFound(conversation.id)
        stored_version = stored[0][0]
        if stored_version != conversation.version:
            raise ConcurrencyConflict(
                f"conversation {conversation.id} is at version {stored_version}, not {conversation.version}"
            )
        raise ConcurrencyConflict(f"conversation {conversation.id} is closed and cannot be reopened")

    async def list_pending(self, limit: int | None = None) -> Sequence[Conversation]:
        _check_limit(limit)
        rows = await self._tx.fetch(self._tx.statements.pending_conversations, {"limit": self._limit(limit)})
        return [conversation_from_row(row) for row in rows]

    async def count_pending(self) -> int:
        rows = await self._tx.fetch(self._tx.statements.count_pending_conversations)
        return int(rows[0][0])

    async def list_by_agent(self, agent_id: str) -> Sequence[Conversation]:
        rows = await self._tx.fetch(self._tx.statements.conversations_by_agent, {"agent_id": agent_id})
        return [conversation_from_row(row) for row in rows]

    async def list(
        self,
        *,
        status: ConversationStatus | None = None,
        agent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Conversation]:
        _check_limit(limit)
        _check_limit(offset, "offset")
        statement = self._tx.statements.conversation_list(
            status=None if status is None else status.value,
            agent_id=agent_id,
            # An agent's conversations are the open ones it holds (a closed conversation has no agent).
            open_only=agent_id is not None and status is not ConversationStatus.CLOSED,
        )
        params: dict[str, object] = {"limit": limit, "offset": offset}
        if agent_id is not None:
            params["agent_id"] = agent_id
        rows = await self._tx.fetch(statement, params)
        return [conversation_from_row(row) for row in rows]

    async def count_active_by_agent(self) -> Mapping[str, int]:
        # Loads decide who is next (when AssignmentService.needs_loads): read them under the queue's lock so that the
        # decision and the rotation see the same state.
        await self._tx.lock_queue()
        rows = await self._tx.fetch(self._tx.statements.active_counts)
        return {row[0]: int(row[1]) for row in rows}

    async def list_timeout_candidates(
        self, *, unanswered_before: datetime, inactive_before: datetime
    ) -> Sequence[Conversation]:
        for name, instant in (("unanswered_before", unanswered_before), ("inactive_before", inactive_before)):
            if instant.tzinfo is None or instant.utcoffset() is None:
                raise InvalidInput(f"{name} must be a timezone-aware datetime, got {instant!r}")
        rows = await self._tx.fetch(
            self._tx.statements.timeout_candidates,
            {"unanswered_before": unanswered_before, "inactive_before": inactive_before},
        )
        return [conversation_from_row(row) for row in rows]

    async def add_message(self, message: Message) -> bool:
        return await self._tx.write(self._tx.statements.insert_message, message_params(message)) == 1

    async def get_messages(self, conversation_id: str) -> Sequence[Message]:
        rows = await self._tx.fetch(self._tx.statements.messages_of, {"conversation_id": conversation_id})
        return [message_from_row(row) for row in rows]

    async def mark_delivered(self, message_ids: Sequence[str], agent_id: str) -> None:
        if not message_ids:
            return
        await self._tx.write_many(
            self._tx.statements.mark_delivered,
            [{"message_id": message_id, "agent_id": agent_id} for message_id in message_ids],
        )

    def _limit(self, limit: int | None) -> int | None:
        return self._tx.statements.no_limit if limit is None else limit
