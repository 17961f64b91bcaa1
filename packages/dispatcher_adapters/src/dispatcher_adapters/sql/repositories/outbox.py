"""The outbox (:class:`~dispatcher_core.ports.OutboxRepository`) in the unit of work's transaction.

Each outbound message is one row: the entity as a JSON document (``data``, see
:mod:`dispatcher_adapters.outbound_codec`) and the columns it is looked up and ordered by. ``add`` is
``INSERT ... ON CONFLICT DO NOTHING``: a row count of 0 means the id, the wamid or the (agent, client id)
pair exists, and the pair's message is returned; ``save`` is ``UPDATE ... WHERE version = :expected``.
On PostgreSQL a concurrent insert of the same pair waits for the first transaction, then sees its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dispatcher_adapters.outbound_codec import dump_outbound, load_outbound
from dispatcher_adapters.sql.drivers import Row
from dispatcher_adapters.sql.statements import Sql, _compile, _insert_ignoring_duplicates
from dispatcher_adapters.sql.tables import UtcDateTime, outbound_messages
from dispatcher_adapters.sql.transaction import Transaction
from dispatcher_core.errors import ConcurrencyConflict, InvalidInput, NotFound
from dispatcher_core.messaging.outbound import OutboundMessage, OutboundStatus
from dispatcher_core.ports.outbox_repository import OutboxCount

__all__ = ["SqlOutboxRepository"]

_o = outbound_messages.c
_b = sa.bindparam


@dataclass(frozen=True, slots=True)
class _Statements:
    insert: Sql
    update: Sql
    by_id: Sql
    by_wamid: Sql
    by_client: Sql
    by_status: Sql
    by_status_before: Sql
    due: Sql
    by_conversation: Sql
    counts: Sql


_compiled: dict[str, _Statements] = {}


def _statements(dialect: sa.Dialect) -> _Statements:
    found = _compiled.get(dialect.name)
    if found is not None:
        return found
    columns = sa.select(_o.version, _o.data)
    status_order = (_o.updated_at, _o.created_at, _o.id)
    found = _compiled[dialect.name] = _Statements(
        insert=_compile(
            dialect, _insert_ignoring_duplicates(dialect.name, outbound_messages), [c.key for c in outbound_messages.c]
        ),
        # The owner and keys never change: the WHERE clause checks them with the version, so a save is one
        # statement (the row is read only to explain a refusal).
        update=_compile(
            dialect,
            sa.update(outbound_messages)
            .where(
                _o.id == _b("where_id"),
                _o.version == _b("expected_version"),
                _o.agent_id.is_not_distinct_from(_b("where_agent_id", type_=sa.String)),
                _o.client_id.is_not_distinct_from(_b("where_client_id", type_=sa.String)),
                _o.conversation_id.is_not_distinct_from(_b("where_conversation_id", type_=sa.String)),
            )
            .values(
                {
                    key: _b(key)
                    for key in ("wamid", "status", "template_name", "updated_at", "due_at", "version", "data")
                }
            ),
        ),
        by_id=_compile(dialect, columns.where(_o.id == _b("id"))),
        by_wamid=_compile(dialect, columns.where(_o.wamid == _b("wamid"))),
        by_client=_compile(dialect, columns.where(_o.agent_id == _b("agent_id"), _o.client_id == _b("client_id"))),
        by_status=_compile(
            dialect, columns.where(_o.status == _b("status")).order_by(*status_order).limit(_b("limit"))
        ),
        by_status_before=_compile(
            dialect,
            columns.where(_o.status == _b("status"), _o.updated_at < _b("before", type_=UtcDateTime))
            .order_by(*status_order)
            .limit(_b("limit")),
        ),
        due=_compile(
            dialect,
            columns.where(_o.status == sa.literal_column("'queued'"), _o.due_at <= _b("now", type_=UtcDateTime))
            .order_by(_o.due_at, _o.id)
            .limit(_b("limit")),
        ),
        by_conversation=_compile(
            dialect, columns.where(_o.conversation_id == _b("conversation_id")).order_by(_o.created_at, _o.id)
        ),
        counts=_compile(
            dialect,
            sa.select(_o.template_name, _o.status, sa.func.count())
            .where(_o.created_at >= _b("start", type_=UtcDateTime), _o.created_at < _b("end", type_=UtcDateTime))
            .group_by(_o.template_name, _o.status),
        ),
    )
    return found


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def _params(message: OutboundMessage, version: int) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "agent_id": message.agent_id,
        "client_id": message.client_id,
        "wamid": message.wamid,
        "status": message.status.value,
        "template_name": message.template_name,
        "created_at": _aware(message.created_at, "created_at"),
        "updated_at": _aware(message.updated_at, "updated_at"),
        "due_at": _aware(message.not_before or message.created_at, "not_before"),
        "version": version,
        "data": dump_outbound(message),
    }


def _load(row: Row) -> OutboundMessage:
    return load_outbound(row[1], int(row[0]))


class SqlOutboxRepository:
    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    @property
    def _sql(self) -> _Statements:
        return _statements(self._tx.statements.dialect)

    async def _one(self, sql: Sql, params: dict[str, Any]) -> OutboundMessage | None:
        rows = await self._tx.fetch(sql, params)
        return _load(rows[0]) if rows else None

    async def _many(self, sql: Sql, params: dict[str, Any]) -> list[OutboundMessage]:
        return [_load(row) for row in await self._tx.fetch(sql, params)]

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        if message.client_id is not None and message.agent_id is not None:
            earlier = await self.get_by_client_id(message.agent_id, message.client_id)
            if earlier is not None:
                return earlier
        if await self._tx.write(self._sql.insert, _params(message, 0)) == 1:
            return replace(message, version=0)
        if message.client_id is not None and message.agent_id is not None:
            earlier = await self.get_by_client_id(message.agent_id, message.client_id)
            if earlier is not None:
                return earlier  # inserted meanwhile by a transaction that committed while we waited
        raise ConcurrencyConflict(f"outbound message {message.id} (or its wamid) already exists")

    async def get(self, reference: str) -> OutboundMessage | None:
        return await self._one(self._sql.by_id, {"id": reference})

    async def get_by_wamid(self, wamid: str) -> OutboundMessage | None:
        return await self._one(self._sql.by_wamid, {"wamid": wamid})

    async def get_by_client_id(self, agent_id: str, client_id: str) -> OutboundMessage | None:
        return await self._one(self._sql.by_client, {"agent_id": agent_id, "client_id": client_id})

    async def save(self, message: OutboundMessage) -> OutboundMessage:
        if message.wamid is not None:
            holder = await self.get_by_wamid(message.wamid)
            if holder is not None and holder.id != message.id:
                raise ConcurrencyConflict(f"wamid {message.wamid} already belongs to another message")
        params = _params(message, message.version + 1)
        params["where_id"] = params.pop("id")
        params["expected_version"] = message.version
        params["where_agent_id"] = params.pop("agent_id")
        params["where_client_id"] = params.pop("client_id")
        params["where_conversation_id"] = params.pop("conversation_id")
        if await self._tx.write(self._sql.update, params) == 1:
            return replace(message, version=message.version + 1)
        stored = await self.get(message.id)
        if stored is None:
            raise NotFound(f"no outbound message {message.id}")
        if (message.agent_id, message.client_id, message.conversation_id) != (
            stored.agent_id,
            stored.client_id,
            stored.conversation_id,
        ):
            raise ConcurrencyConflict(f"outbound message {message.id}: its owner and keys cannot change")
        raise ConcurrencyConflict(
            f"outbound message {message.id} is at version {stored.version}, not {message.version}"
        )

    async def list_by_status(
        self, status: OutboundStatus, *, updated_before: datetime | None = None, limit: int = 100
    ) -> Sequence[OutboundMessage]:
        if updated_before is None:
            return await self._many(self._sql.by_status, {"status": status.value, "limit": limit})
        return await self._many(
            self._sql.by_status_before,
            {"status": status.value, "before": _aware(updated_before, "updated_before"), "limit": limit},
        )

    async def list_due(self, now: datetime, *, limit: int = 100) -> Sequence[OutboundMessage]:
        return await self._many(self._sql.due, {"now": _aware(now, "now"), "limit": limit})

    async def list_by_conversation(self, conversation_id: str) -> Sequence[OutboundMessage]:
        return await self._many(self._sql.by_conversation, {"conversation_id": conversation_id})

    async def count_created_between(self, start: datetime, end: datetime) -> Sequence[OutboxCount]:
        rows = await self._tx.fetch(self._sql.counts, {"start": _aware(start, "start"), "end": _aware(end, "end")})
        return [OutboxCount(row[0], OutboundStatus(row[1]), int(row[2])) for row in rows]
