"""Pending messages on Redis: durable and in arrival order.

A hash of pending messages by id, a sorted set of all of them and one per conversation, both scored by an
arrival counter that the commit script increments. Adding and removing happen in the commit script, in
the same atomic step as the conversation change that caused them, so a process dying between two steps
leaves each message either pending or delivered, never both, never neither (as durable as Redis is
configured to be: docs/operations.md). Removing is checked at commit: a message two units of work both
remove is handed out once, the other commit conflicts.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher_adapters.redis.codec import dump_pending, load_pending
from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, CommitPlan
from dispatcher_adapters.redis.reads import zfetch
from dispatcher_adapters.redis.session import Session
from dispatcher_core.entities import PendingMessage
from dispatcher_core.errors import ConcurrencyConflict

__all__ = ["RedisPending"]


class RedisPending:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._ctx = session.ctx
        self._keys = session.ctx.keys
        self._read: dict[str, PendingMessage | None] = {}
        self._added: dict[str, PendingMessage] = {}
        self._removed: dict[str, PendingMessage] = {}

    async def add(self, pending: PendingMessage) -> None:
        stored = self._read.get(pending.id)
        if pending.id in self._added or (stored is not None and pending.id not in self._removed):
            raise ConcurrencyConflict(f"pending message {pending.id} already exists")
        self._added[pending.id] = pending  # the commit checks the id is free

    async def list(self, conversation_id: str | None = None, limit: int | None = None) -> Sequence[PendingMessage]:
        if limit is not None and limit <= 0:
            return []
        stored: list[PendingMessage] = []
        if conversation_id is None or conversation_id not in self._s.new_conversations:
            key = self._keys.pending_all if conversation_id is None else self._keys.pending_of(conversation_id)
            stop = -1 if limit is None else limit + len(self._removed) - 1
            for pending_id, data in await zfetch(
                self._ctx, key, mode="rank", start=0, stop=stop, source="field", prefix=self._keys.pending_data
            ):
                if data is None:
                    continue
                item = load_pending(data)
                self._read.setdefault(pending_id, item)
                if pending_id not in self._removed:
                    stored.append(item)
        added = [p for p in self._added.values() if conversation_id is None or p.conversation_id == conversation_id]
        result = stored + added
        return result if limit is None else result[:limit]

    async def remove(self, pending_id: str) -> bool:
        if pending_id in self._added:
            del self._added[pending_id]
            return True
        if pending_id in self._removed:
            return False
        if pending_id not in self._read:
            data = await guarded(self._ctx.client.hget(self._keys.pending_data, pending_id))
            self._read[pending_id] = None if data is None else load_pending(str(data))
        stored = self._read[pending_id]
        if stored is None:
            return False
        self._removed[pending_id] = stored  # the commit checks it is still there
        return True

    async def count(self) -> int:
        stored = await guarded(self._ctx.client.zcard(self._keys.pending_all))
        return int(stored) - len(self._removed) + len(self._added)

    def stage(self, plan: CommitPlan) -> None:
        keys = self._keys
        for pending_id, item in self._removed.items():
            plan.check("hpresent", CONFLICT, f"pending message {pending_id} was removed", keys.pending_data, pending_id)
            plan.write("HDEL", keys.pending_data, pending_id)
            plan.write("ZREM", keys.pending_all, pending_id)
            plan.write("ZREM", keys.pending_of(item.conversation_id), pending_id)
        for pending_id, item in self._added.items():
            if pending_id not in self._removed:
                plan.check("hget", CONFLICT, f"pending message {pending_id} exists", keys.pending_data, pending_id, "")
            plan.write("HSET", keys.pending_data, pending_id, dump_pending(item))
            of_conversation = keys.pending_of(item.conversation_id)
            plan.write("ZADDSEQ", keys.pending_seq, pending_id, keys.pending_all, of_conversation)

    def committed(self) -> None:
        self._read.clear()
        self._added.clear()
        self._removed.clear()

    def rolled_back(self) -> None:
        self._added.clear()
        self._removed.clear()
