"""The outbox (:class:`~dispatcher_core.ports.OutboxRepository`) on Redis, written by the commit script.

One hash per outbound message ``{v: version, d: JSON}`` (:mod:`dispatcher_adapters.outbound_codec`), two
unique indexes (hashes: wamid -> id, "<agent><client id>" -> id), and sorted sets to list them: by status
(scored by last update), the queued ones by due time, per conversation and all of them by creation. Like
every write of this store, adds and saves are staged and applied by ``COMMIT`` together with the rest of the
unit of work (the conversation the reply belongs to), after checking the versions and the unique keys: a
concurrent change makes the commit conflict and apply nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from dispatcher_adapters.outbound_codec import dump_outbound, load_outbound
from dispatcher_adapters.redis.codec import micros
from dispatcher_adapters.redis.errors import guarded
from dispatcher_adapters.redis.plan import CONFLICT, CommitPlan
from dispatcher_adapters.redis.session import Session
from dispatcher_core.errors import ConcurrencyConflict, NotFound
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports.outbox_repository import OutboxCount

__all__ = ["RedisOutbox"]


@dataclass(slots=True)
class _Staged:
    #: the version in Redis when this unit of work first wrote it (``None``: a new message)
    base_version: int | None
    #: the stored wamid then (to know whether the wamid index changes)
    base_wamid: str | None
    latest: OutboundMessage


class RedisOutbox:
    def __init__(self, session: Session) -> None:
        self._ctx = session.ctx
        self._keys = session.ctx.keys
        prefix = session.ctx.keys.prefix
        self._message_prefix = f"{prefix}:out:"
        self._by_client = f"{prefix}:out-client"
        self._by_wamid = f"{prefix}:out-wamid"
        self._due = f"{prefix}:out-due"
        self._created = f"{prefix}:out-created"
        self._staged: dict[str, _Staged] = {}

    def _status_key(self, status: OutboundStatus) -> str:
        return f"{self._keys.prefix}:out-status:{status.value}"

    def _conversation_key(self, conversation_id: str) -> str:
        return f"{self._keys.prefix}:out-conv:{conversation_id}"

    async def _load(self, reference: str) -> OutboundMessage | None:
        staged = self._staged.get(reference)
        if staged is not None:
            return staged.latest
        version, data = await guarded(self._ctx.client.hmget(self._message_prefix + reference, ["v", "d"]))
        return None if data is None else load_outbound(str(data), int(str(version)))

    async def _load_many(self, references: Sequence[str]) -> list[OutboundMessage]:
        if not references:
            return []
        pipe = self._ctx.client.pipeline(transaction=False)
        for reference in references:
            pipe.hmget(self._message_prefix + reference, ["v", "d"])
        rows = await guarded(pipe.execute())
        found = []
        for reference, (version, data) in zip(references, rows, strict=True):
            staged = self._staged.get(reference)
            if staged is not None:
                found.append(staged.latest)
            elif data is not None:
                found.append(load_outbound(str(data), int(version)))
        return found

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        if message.client_id is not None and message.agent_id is not None:
            earlier = await self.get_by_client_id(message.agent_id, message.client_id)
            if earlier is not None:
                return earlier
        if await self._load(message.id) is not None:
            raise ConcurrencyConflict(f"outbound message {message.id} already exists")
        if message.wamid is not None and await self.get_by_wamid(message.wamid) is not None:
            raise ConcurrencyConflict(f"wamid {message.wamid} already belongs to another message")
        stored = replace(message, version=0)
        self._staged[stored.id] = _Staged(base_version=None, base_wamid=None, latest=stored)
        return stored

    async def get(self, reference: str) -> OutboundMessage | None:
        return await self._load(reference)

    async def get_by_wamid(self, wamid: str) -> OutboundMessage | None:
        for staged in self._staged.values():
            if staged.latest.wamid == wamid:
                return staged.latest
        reference = await guarded(self._ctx.client.hget(self._by_wamid, wamid))
        return None if reference is None else await self._load(str(reference))

    async def get_by_client_id(self, agent_id: str, client_id: str) -> OutboundMessage | None:
        for staged in self._staged.values():
            if (staged.latest.agent_id, staged.latest.client_id) == (agent_id, client_id):
                return staged.latest
        reference = await guarded(self._ctx.client.hget(self._by_client, self._keys.pair_field(agent_id, client_id)))
        return None if reference is None else await self._load(str(reference))

    async def save(self, message: OutboundMessage) -> OutboundMessage:
        stored = await self._load(message.id)
        if stored is None:
            raise NotFound(f"no outbound message {message.id}")
        if stored.version != message.version:
            raise ConcurrencyConflict(
                f"outbound message {message.id} is at version {stored.version}, not {message.version}"
            )
        if (message.agent_id, message.client_id, message.conversation_id) != (
            stored.agent_id,
            stored.client_id,
            stored.conversation_id,
        ):
            raise ConcurrencyConflict(f"outbound message {message.id}: its owner and keys cannot change")
        if message.wamid is not None and message.wamid != stored.wamid:
            holder = await self.get_by_wamid(message.wamid)
            if holder is not None and holder.id != message.id:
                raise ConcurrencyConflict(f"wamid {message.wamid} already belongs to another message")
        new = replace(message, version=message.version + 1)
        staged = self._staged.get(message.id)
        if staged is None:
            self._staged[message.id] = _Staged(base_version=stored.version, base_wamid=stored.wamid, latest=new)
        else:
            staged.latest = new
        return new

    async def list_by_status(
        self, status: OutboundStatus, *, updated_before: datetime | None = None, limit: int = 100
    ) -> Sequence[OutboundMessage]:
        top = "+inf" if updated_before is None else f"({micros(updated_before)}"
        references = await guarded(
            self._ctx.client.zrangebyscore(self._status_key(status), "-inf", top, start=0, num=limit)
        )
        return [m for m in await self._load_many([str(r) for r in references]) if m.status is status]

    async def list_due(self, now: datetime, *, limit: int = 100) -> Sequence[OutboundMessage]:
        references = await guarded(self._ctx.client.zrangebyscore(self._due, "-inf", micros(now), start=0, num=limit))
        return [m for m in await self._load_many([str(r) for r in references]) if m.status is OutboundStatus.QUEUED]

    async def list_by_conversation(self, conversation_id: str) -> Sequence[OutboundMessage]:
        references = await guarded(self._ctx.client.zrange(self._conversation_key(conversation_id), 0, -1))
        return await self._load_many([str(r) for r in references])

    async def count_created_between(self, start: datetime, end: datetime) -> Sequence[OutboxCount]:
        references = await guarded(self._ctx.client.zrangebyscore(self._created, micros(start), f"({micros(end)}"))
        counts: dict[tuple[str | None, OutboundStatus], int] = {}
        for message in await self._load_many([str(r) for r in references]):
            key = (message.template_name, message.status)
            counts[key] = counts.get(key, 0) + 1
        return [OutboxCount(template, status, count) for (template, status), count in counts.items()]

    def stage(self, plan: CommitPlan) -> None:
        for reference, staged in self._staged.items():
            message = staged.latest
            key = self._message_prefix + reference
            if staged.base_version is None:
                plan.check("hget", CONFLICT, f"outbound message {reference} exists", key, "v", "")
                if message.client_id is not None and message.agent_id is not None:
                    field = self._keys.pair_field(message.agent_id, message.client_id)
                    plan.check("hget", CONFLICT, f"client id {message.client_id} was used", self._by_client, field, "")
                    plan.write("HSET", self._by_client, field, reference)
                if message.conversation_id is not None:
                    plan.write(
                        "ZADD", self._conversation_key(message.conversation_id), micros(message.created_at), reference
                    )
                plan.write("ZADD", self._created, micros(message.created_at), reference)
            else:
                plan.check("hget", CONFLICT, f"outbound message {reference}", key, "v", str(staged.base_version))
            if message.wamid is not None and message.wamid != staged.base_wamid:
                plan.check(
                    "hfree", CONFLICT, f"wamid {message.wamid} is taken", self._by_wamid, message.wamid, reference
                )
                plan.write("HSET", self._by_wamid, message.wamid, reference)
            plan.write("HSET", key, "v", message.version, "d", dump_outbound(message))
            for status in OutboundStatus:
                if status is not message.status:
                    plan.write("ZREM", self._status_key(status), reference)
            plan.write("ZADD", self._status_key(message.status), micros(message.updated_at), reference)
            if message.status is OutboundStatus.QUEUED:
                plan.write("ZADD", self._due, micros(message.not_before or message.created_at), reference)
            else:
                plan.write("ZREM", self._due, reference)

    def committed(self) -> None:
        self._staged.clear()

    def rolled_back(self) -> None:
        self._staged.clear()
