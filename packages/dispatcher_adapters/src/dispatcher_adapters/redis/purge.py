"""Retention on Redis (:class:`~dispatcher_core.ports.ConversationPurge`): the keys of old closed conversations
are deleted by the same ``COMMIT`` script as every write, one conversation at a time, after checking it did not
change since it was read: its hash, its message list and message hashes, their deduplication fields, its
outbound messages with their indexes. Candidates come from ``conv-status:closed`` (scored by last activity,
never later than the close), checked against ``closed_at``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from dispatcher_adapters.redis.codec import micros
from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, CommitPlan
from dispatcher_adapters.redis.store import RedisStore
from dispatcher_core.messaging.outbound import OutboundStatus

__all__ = ["RedisPurge"]

_PAGE = 200


class RedisPurge:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._ctx = store.context
        self._keys = store.context.keys

    async def purge_closed(self, closed_before: datetime, *, limit: int = 100) -> int:
        purged = 0
        start = 0
        cutoff = micros(closed_before)
        while purged < limit:
            page = await guarded(
                self._ctx.client.zrangebyscore(
                    self._keys.conversations_closed, "-inf", f"({cutoff}", start=start, num=_PAGE
                )
            )
            if not page:
                break
            start += len(page)
            for conversation_id in page:
                if purged >= limit:
                    break
                if await self._purge_one(str(conversation_id), closed_before):
                    purged += 1
                    start -= 1  # it left the sorted set: the next page starts one earlier
        return purged

    async def _purge_one(self, conversation_id: str, closed_before: datetime) -> bool:
        keys = self._keys
        prefix = keys.prefix
        async with self._store.unit_of_work() as uow:
            conversation = await uow.conversations.get(conversation_id)
            if conversation is None or conversation.is_open:
                return False
            if conversation.closed_at is None or conversation.closed_at >= closed_before:
                return False
            messages = await uow.conversations.get_messages(conversation_id)
            outbound = await uow.outbox.list_by_conversation(conversation_id)
        plan = CommitPlan()
        key = keys.conversation(conversation_id)
        plan.check("hget", CONFLICT, f"conversation {conversation_id}", key, "v", str(conversation.version))
        plan.write("DEL", key, keys.conversation_messages(conversation_id), keys.pending_of(conversation_id))
        for index in (keys.conversations_all, keys.conversations_closed, keys.conversations_open, keys.idle):
            plan.write("ZREM", index, conversation_id)
        for message in messages:
            plan.write("DEL", keys.message(message.id))
            plan.write("HDEL", keys.message_keys, keys.pair_field(message.business_number_id, message.external_id))
        for sent in outbound:
            plan.write("DEL", f"{prefix}:out:{sent.id}")
            if sent.agent_id is not None and sent.client_id is not None:
                plan.write("HDEL", f"{prefix}:out-client", keys.pair_field(sent.agent_id, sent.client_id))
            if sent.wamid is not None:
                plan.write("HDEL", f"{prefix}:out-wamid", sent.wamid)
            for status in OutboundStatus:
                plan.write("ZREM", f"{prefix}:out-status:{status.value}", sent.id)
            plan.write("ZREM", f"{prefix}:out-due", sent.id)
            plan.write("ZREM", f"{prefix}:out-created", sent.id)
        plan.write("DEL", f"{prefix}:out-conv:{conversation_id}")
        token_key = keys.commit_token(uuid.uuid4().hex)
        args_keys, args = plan.encode(token_key, self._ctx.token_ttl)
        outcome = await guarded(self._ctx.scripts.commit(keys=args_keys, args=args))
        code = str(next(iter(outcome)))
        return code in ("ok", "applied")
