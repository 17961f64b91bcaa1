"""Conversations and their messages on Redis, inside one optimistic unit of work.

Reads go to Redis and are remembered (with the version each conversation had); writes are staged here and
turned into checks and writes of the commit plan by :meth:`RedisConversations.stage`. Every list read is
overlaid with the staged writes, so a unit of work reads its own writes like the in-memory store does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dispatcher_adapters.redis.codec import dump_message, load_conversation, load_message, micros
from dispatcher_adapters.redis.conversation_index import PENDING_ID_OFFSET, index_writes, open_agent
from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, DUPLICATE, OPEN, CommitPlan
from dispatcher_adapters.redis.presence import presence_from_hash
from dispatcher_adapters.redis.reads import zfetch
from dispatcher_adapters.redis.scripts import as_list, decode
from dispatcher_adapters.redis.session import Session
from dispatcher_core.entities import Conversation, ConversationStatus, Message
from dispatcher_core.errors import ConcurrencyConflict, ConversationAlreadyOpen, ConversationNotFound, InvalidInput

__all__ = ["RedisConversations"]


def _pending_order(conversation: Conversation) -> tuple[datetime, datetime, str]:
    return (conversation.pending_since or conversation.opened_at, conversation.opened_at, conversation.id)


def _from_hash(values: Any) -> Conversation | None:
    """A conversation from its hash's ``[v, d, ...]`` as a script returned it, or ``None`` if absent."""
    if not values or values[0] is None or values[1] is None:
        return None
    return load_conversation(values[1], values[0])


class RedisConversations:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._ctx = session.ctx
        self._keys = session.ctx.keys
        self._read: dict[str, Conversation | None] = {}
        self._open_read: dict[tuple[str, str], str | None] = {}
        self._staged: dict[str, tuple[Conversation | None, Conversation]] = {}
        self._messages: dict[str, Message] = {}
        self._message_fields: set[str] = set()
        self._delivered: dict[str, str] = {}
        self._loads_version: str | None = None

    # ------------------------------------------------------------------ reads

    def _remember(self, conversation_id: str, conversation: Conversation | None) -> Conversation | None:
        """Repeatable reads: the first copy read in this unit of work is the one it keeps seeing."""
        return self._read.setdefault(conversation_id, conversation)

    def _current(self, conversation_id: str) -> Conversation | None:
        staged = self._staged.get(conversation_id)
        return staged[1] if staged is not None else self._read.get(conversation_id)

    async def _fetch(self, conversation_id: str) -> Conversation | None:
        if conversation_id in self._read or conversation_id in self._staged:
            return self._current(conversation_id)
        if conversation_id in self._s.new_conversations:
            return None
        values = await guarded(self._ctx.client.hmget(self._keys.conversation(conversation_id), ["v", "d"]))
        return self._remember(conversation_id, _from_hash(values))

    async def _range(self, key: str, mode: Any, start: int | str, stop: int | str, skip: int = 0) -> list[Conversation]:
        found = []
        for conversation_id, values in await zfetch(
            self._ctx,
            key,
            mode=mode,
            start=start,
            stop=stop,
            source="hash",
            prefix=self._keys.conversation_prefix,
            skip=skip,
        ):
            conversation = self._remember(conversation_id, _from_hash(values))
            if conversation is not None:
                found.append(conversation)
        return found

    def _overlay(self, found: Iterable[Conversation], keep: Callable[[Conversation], bool]) -> list[Conversation]:
        """What was read, with this unit of work's staged writes laid over it, filtered by ``keep``."""
        by_id = {c.id: c for c in found}
        for _, final in self._staged.values():
            by_id[final.id] = final
        return [c for c in by_id.values() if keep(c)]

    async def get(self, conversation_id: str) -> Conversation | None:
        return await self._fetch(conversation_id)

    async def get_open_by_key(self, business_number_id: str, customer_id: str) -> Conversation | None:
        pair = (business_number_id, customer_id)
        for _, final in self._staged.values():
            if final.is_open and (final.business_number_id, final.customer_id) == pair:
                return final
        if pair not in self._open_read:
            await self._snapshot(business_number_id, customer_id)
        conversation_id = self._open_read[pair]
        conversation = None if conversation_id is None else self._current(conversation_id)
        if conversation is None or not conversation.is_open:
            return None
        return conversation

    async def _snapshot(self, business_number_id: str, customer_id: str) -> None:
        """One round trip for the open conversation of the key and what deciding about it may need."""
        keys = self._keys
        raw = decode(
            await guarded(
                self._ctx.scripts.snapshot(
                    keys=[keys.open_index, keys.queue, keys.queue_version, keys.agent_loads, keys.agent_loads_version],
                    args=[
                        keys.pair_field(business_number_id, customer_id),
                        keys.conversation_prefix,
                        keys.presence_prefix,
                        self._ctx.prefetch_queue,
                        "1" if self._ctx.prefetch_loads else "0",
                    ],
                )
            )
        )
        conversation_id, conversation_values, presence_values = raw[0], raw[1], raw[2]
        conversation = None
        if conversation_id is not None:
            conversation = self._remember(conversation_id, _from_hash(conversation_values))
        self._open_read[(business_number_id, customer_id)] = None if conversation is None else conversation_id
        agent = open_agent(conversation)
        if agent is not None and agent not in self._s.presence_read:
            self._s.presence_read[agent] = presence_from_hash(presence_values)
        prefetched = self._s.prefetched
        prefetched.queue, prefetched.queue_version = as_list(raw[3]), raw[4]
        prefetched.queue_complete = len(prefetched.queue) < self._ctx.prefetch_queue
        if raw[5] is not None:
            flat = as_list(raw[5])
            prefetched.loads = {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}
            prefetched.loads_version = raw[6]

    async def list_pending(self, limit: int | None = None) -> Sequence[Conversation]:
        if limit is not None and limit <= 0:
            return []
        stop = -1 if limit is None else limit + len(self._staged) - 1
        found = await self._range(self._keys.pending_conversations, "rank", 0, stop, skip=PENDING_ID_OFFSET)
        result = sorted(self._overlay(found, lambda c: c.is_pending), key=_pending_order)
        return result if limit is None else result[:limit]

    async def count_pending(self) -> int:
        if self._staged:  # this unit of work changed conversations: count what it would see
            return len(await self.list_pending())
        return int(await guarded(self._ctx.client.zcard(self._keys.pending_conversations)))

    async def list_by_agent(self, agent_id: str) -> Sequence[Conversation]:
        found = await self._range(self._keys.agent_conversations(agent_id), "rank", 0, -1)
        result = self._overlay(found, lambda c: c.is_open and c.agent_id == agent_id)
        return sorted(result, key=lambda c: (c.assigned_at or c.opened_at, c.id))

    async def list(
        self,
        *,
        status: ConversationStatus | None = None,
        agent_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Conversation]:
        if limit < 0 or offset < 0:
            raise InvalidInput(f"limit and offset must be >= 0, got limit={limit} offset={offset}")
        if limit == 0:
            return []
        if agent_id is not None and status is not ConversationStatus.CLOSED:
            candidates: list[Conversation] = list(await self.list_by_agent(agent_id))
        else:
            key = {
                None: self._keys.conversations_all,
                ConversationStatus.OPEN: self._keys.conversations_open,
                ConversationStatus.CLOSED: self._keys.conversations_closed,
            }[status]
            stop = -1 if agent_id is not None else offset + limit + len(self._staged) - 1
            candidates = self._overlay(await self._range(key, "revrank", 0, stop), lambda c: True)
        selected = [
            c
            for c in candidates
            if (status is None or c.status is status) and (agent_id is None or c.agent_id == agent_id)
        ]
        selected.sort(key=lambda c: (c.last_activity_at, c.id), reverse=True)
        return selected[offset : offset + limit]

    async def count_active_by_agent(self) -> Mapping[str, int]:
        prefetched = self._s.prefetched
        if prefetched.loads is not None:
            loads, version = dict(prefetched.loads), prefetched.loads_version
        else:
            async with self._ctx.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._keys.agent_loads)
                pipe.get(self._keys.agent_loads_version)
                raw_loads, raw_version = await guarded(pipe.execute())
            loads = {agent: int(count) for agent, count in raw_loads.items()}
            version = raw_version or "0"
            prefetched.loads, prefetched.loads_version = dict(loads), version
        if self._loads_version is None:
            self._loads_version = version  # from now on the commit checks the loads did not change
        for base, final in self._staged.values():
            before, after = open_agent(base), open_agent(final)
            if before is not None:
                loads[before] = loads.get(before, 0) - 1
            if after is not None:
                loads[after] = loads.get(after, 0) + 1
        return {agent: count for agent, count in loads.items() if count > 0}

    async def list_timeout_candidates(
        self, *, unanswered_before: datetime, inactive_before: datetime
    ) -> Sequence[Conversation]:
        unanswered = await self._range(self._keys.unanswered, "score", "-inf", micros(unanswered_before))
        idle = await self._range(self._keys.idle, "score", "-inf", micros(inactive_before))

        def due(c: Conversation) -> bool:
            if not c.is_open:
                return False
            if c.oldest_unanswered_at is not None:
                return c.agent_id is not None and c.oldest_unanswered_at <= unanswered_before
            return c.last_activity_at <= inactive_before

        return self._overlay([*unanswered, *idle], due)

    async def get_messages(self, conversation_id: str) -> Sequence[Message]:
        stored: list[Message] = []
        if conversation_id not in self._s.new_conversations:
            raw = decode(
                await guarded(
                    self._ctx.scripts.messages(
                        keys=[self._keys.conversation_messages(conversation_id)], args=[self._keys.message_prefix]
                    )
                )
            )
            for values in as_list(raw):
                if values[0] is None:
                    continue
                message = load_message(values[0], values[1])
                agent = self._delivered.get(message.id)
                stored.append(message if agent is None else replace(message, delivered_to=agent))
        staged = [m for m in self._messages.values() if m.conversation_id == conversation_id]
        return stored + staged

    # ------------------------------------------------------------------ writes (staged)

    async def add(self, conversation: Conversation) -> None:
        if conversation.id in self._staged or self._read.get(conversation.id) is not None:
            raise ConcurrencyConflict(f"conversation {conversation.id} already exists")
        pair = (conversation.business_number_id, conversation.customer_id)
        if conversation.is_open:
            for _, final in self._staged.values():
                if final.is_open and (final.business_number_id, final.customer_id) == pair:
                    raise ConversationAlreadyOpen(f"an open conversation exists for {pair}")
            known = self._open_read.get(pair)
            if known is not None and known not in self._staged:
                raise ConversationAlreadyOpen(f"an open conversation exists for {pair}")
        # Otherwise the commit checks, atomically, that the id is free and the key has no open conversation.
        self._staged[conversation.id] = (None, replace(conversation, version=0))
        self._s.new_conversations.add(conversation.id)

    async def save(self, conversation: Conversation) -> None:
        staged = self._staged.get(conversation.id)
        if staged is not None:
            base, current = staged
        else:
            stored = await self._fetch(conversation.id)
            if stored is None:
                raise ConversationNotFound(conversation.id)
            base = current = stored
        if current.version != conversation.version:
            raise ConcurrencyConflict(
                f"conversation {conversation.id} is at version {current.version}, not {conversation.version}"
            )
        if conversation.is_open and not current.is_open:
            raise ConcurrencyConflict(f"conversation {conversation.id} is closed and cannot be reopened")
        self._staged[conversation.id] = (base, replace(conversation, version=conversation.version + 1))

    async def add_message(self, message: Message) -> bool:
        field = self._keys.pair_field(message.business_number_id, message.external_id)
        if message.id in self._messages or field in self._message_fields or field in self._ctx.known_duplicates:
            return False
        if self._ctx.dedup == "check":
            async with self._ctx.client.pipeline(transaction=False) as pipe:
                pipe.hexists(self._keys.message_keys, field)
                pipe.exists(self._keys.message(message.id))
                key_taken, id_taken = await guarded(pipe.execute())
            if key_taken:
                self._ctx.known_duplicates.add(field)
            if key_taken or id_taken:
                return False
        # The commit checks both atomically: a twin committed first (by another process, in "at_commit" mode
        # not looked for here) makes this commit conflict, and the retried cycle sees the duplicate.
        self._messages[message.id] = message
        self._message_fields.add(field)
        return True

    async def mark_delivered(self, message_ids: Sequence[str], agent_id: str) -> None:
        for message_id in message_ids:
            staged = self._messages.get(message_id)
            if staged is not None:
                self._messages[message_id] = replace(staged, delivered_to=agent_id)
            else:
                self._delivered[message_id] = agent_id

    # ------------------------------------------------------------------ commit

    def stage(self, plan: CommitPlan) -> None:
        """Add this unit of work's conversation and message preconditions and writes to ``plan``."""
        keys = self._keys
        if self._loads_version is not None:
            plan.check("get0", CONFLICT, "agent loads", keys.agent_loads_version, self._loads_version)
        for conversation_id, (base, final) in self._staged.items():
            expected = "" if base is None else str(base.version)
            key = keys.conversation(conversation_id)
            plan.check("hget", CONFLICT, f"conversation {conversation_id}", key, "v", expected)
            if final.is_open:
                field = keys.pair_field(final.business_number_id, final.customer_id)
                detail = f"({final.business_number_id}, {final.customer_id})"
                owners = [conversation_id, *self._leaving(final.business_number_id, final.customer_id)]
                plan.check("hfree", OPEN, detail, keys.open_index, field, *owners)
            index_writes(plan, keys, base, final)
        for message in self._messages.values():
            field = keys.pair_field(message.business_number_id, message.external_id)
            plan.check("hget", DUPLICATE, field, keys.message_keys, field, "")
            plan.check("hget", CONFLICT, f"message {message.id}", keys.message(message.id), "d", "")
            plan.write("HSET", keys.message_keys, field, message.id)
            plan.write("HSET", keys.message(message.id), "d", dump_message(message))
            plan.write("RPUSH", keys.conversation_messages(message.conversation_id), message.id)
        for message_id, agent_id in self._delivered.items():
            plan.write("HSETX", keys.message(message_id), "t", agent_id)

    def _leaving(self, business_number_id: str, customer_id: str) -> Sequence[str]:
        """Conversations this commit takes off the key (closes), so they may still hold it when it runs."""
        pair = (business_number_id, customer_id)
        return [
            final.id
            for base, final in self._staged.values()
            if base is not None
            and base.is_open
            and (base.business_number_id, base.customer_id) == pair
            and not final.is_open
        ]

    def committed(self) -> None:
        """Forget staged writes and cached reads: later reads see the store as it now is."""
        for field in self._message_fields:
            self._ctx.known_duplicates.add(field)
        self._read.clear()
        self._open_read.clear()
        self._staged.clear()
        self._messages.clear()
        self._message_fields.clear()
        self._delivered.clear()
        self._loads_version = None

    def rolled_back(self) -> None:
        self._staged.clear()
        self._messages.clear()
        self._message_fields.clear()
        self._delivered.clear()
