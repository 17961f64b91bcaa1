"""The raw ceiling of the SQL bench: the driver alone running, for one customer message, the statements the SQL
adapter runs for it - in one transaction, same round trips, same commit - with a decision reduced to "keep
the agent if online, else the queue head". No SQLAlchemy, no entities, no orchestrator.

ASSIGN (first message of a customer): read the open conversation, lock the queue (PostgreSQL advisory lock;
SQLite holds the write lock since ``BEGIN IMMEDIATE``), read the queue, insert the conversation and the message,
read the conversation's pending messages, move the agent to the end, read the history. KEEP: read the open
conversation, read its agent's presence, update the conversation (version compare-and-set), insert the
message. With ``events`` (PostgreSQL only), the cycle also runs the event transport's one statement (counter,
event row, ``pg_notify``) before its commit, as ``SqlStore(carry_events=True)`` does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from dispatcher_adapters.sql.events import CHANNEL, RECORD_EVENTS
from dispatcher_adapters.sql.statements import QUEUE_LOCK_KEY
from dispatcher_core import IncomingMessage

__all__ = ["RawPostgres", "RawSqlite"]

_CONVERSATION_COLUMNS = (
    "id, business_number_id, customer_id, status, opened_at, last_activity_at, customer_name, agent_id, "
    "assigned_at, pending_since, oldest_unanswered_at, closed_at, close_reason, version"
)
_MESSAGE_COLUMNS = (
    "id, conversation_id, business_number_id, external_id, direction, kind, text, received_at, sent_at, delivered_to"
)
_TABLES = (
    "dispatcher_pending_messages",
    "dispatcher_messages",
    "dispatcher_conversations",
    "dispatcher_queue",
    "dispatcher_presence",
    "dispatcher_slot_claims",
    "dispatcher_events",
    "dispatcher_event_counters",
)


def _sql(placeholder: str) -> dict[str, str]:
    """The statements, with ``$n`` (asyncpg) or ``?`` (sqlite3) placeholders."""

    def p(n: int) -> str:
        return f"${n}" if placeholder == "$" else "?"

    def ps(count: int) -> str:
        return ", ".join(p(i) for i in range(1, count + 1))

    return {
        "open_by_key": f"SELECT {_CONVERSATION_COLUMNS} FROM dispatcher_conversations "
        f"WHERE business_number_id = {p(1)} AND customer_id = {p(2)} AND status = 'open'",
        "presence": "SELECT agent_id, status, changed_at, connections, grace_until, version "
        f"FROM dispatcher_presence WHERE agent_id = {p(1)}",
        "queue": "SELECT agent_id, position FROM dispatcher_queue ORDER BY position",
        "insert_conversation": f"INSERT INTO dispatcher_conversations ({_CONVERSATION_COLUMNS}) "
        f"VALUES ({ps(14)}) ON CONFLICT DO NOTHING",
        "update_conversation": f"UPDATE dispatcher_conversations SET last_activity_at = {p(1)}, "
        f"oldest_unanswered_at = {p(2)}, version = {p(3)} "
        f"WHERE id = {p(4)} AND version = {p(5)} AND status = 'open'",
        "insert_message": f"INSERT INTO dispatcher_messages ({_MESSAGE_COLUMNS}) VALUES ({ps(10)}) "
        "ON CONFLICT DO NOTHING",
        "pending_of": "SELECT seq, id, conversation_id, message_id, enqueued_at FROM dispatcher_pending_messages "
        f"WHERE conversation_id = {p(1)} ORDER BY seq",
        "move_queue": f"UPDATE dispatcher_queue SET position = {p(1)} WHERE agent_id = {p(2)}",
        "messages_of": f"SELECT seq, {_MESSAGE_COLUMNS} FROM dispatcher_messages "
        f"WHERE conversation_id = {p(1)} ORDER BY seq",
        "add_queue": f"INSERT INTO dispatcher_queue (agent_id, position) VALUES ({p(1)}, {p(2)})",
        "add_presence": "INSERT INTO dispatcher_presence (agent_id, status, changed_at, connections, grace_until, "
        f"version) VALUES ({ps(6)})",
    }


def _conversation_row(m: IncomingMessage, cid: str, agent: str, now: Any) -> tuple[Any, ...]:
    return (cid, m.business_number_id, m.customer_id, "open", now, now, None, agent, now, None, now, None, None, 0)


def _message_row(m: IncomingMessage, cid: str, agent: str, now: Any) -> tuple[Any, ...]:
    return (uuid.uuid4().hex, cid, m.business_number_id, m.external_id, "in", m.kind, m.text, now, None, agent)


class RawPostgres:
    """asyncpg, one connection, every statement prepared once."""

    def __init__(self, conn: Any, statements: dict[str, Any], *, events: bool) -> None:
        self._conn = conn
        self._s = statements
        self._events = events

    @classmethod
    async def connect(cls, url: str) -> RawPostgres:
        conn = await asyncpg.connect(url)
        statements = {name: await conn.prepare(sql) for name, sql in _sql("$").items()}
        statements["lock"] = await conn.prepare(f"SELECT pg_advisory_xact_lock({QUEUE_LOCK_KEY})")
        statements["events"] = await conn.prepare(RECORD_EVENTS.text)
        return cls(conn, statements, events=False)

    def with_events(self) -> RawPostgres:
        """The same connection and statements, also running the event statement (one connection for both
        ceilings: a second one would keep locks of its prepared statements that block the other's TRUNCATE)."""
        return RawPostgres(self._conn, self._s, events=True)

    async def _event(self, kind: str, agent: str, cid: str, m: IncomingMessage) -> None:
        if self._events:
            payload = json.dumps({"type": kind, "conversation_id": cid, "agent_id": agent, "text": m.text})
            await self._s["events"].fetch([agent], [payload], CHANNEL)

    async def close(self) -> None:
        await self._conn.close()

    async def reset(self, agents: Sequence[str]) -> None:
        await self._conn.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY")
        now = datetime.now(UTC)
        for position, agent in enumerate(agents, 1):
            await self._s["add_queue"].fetch(agent, position)
            await self._s["add_presence"].fetch(agent, "online", now, json.dumps(["socket"]), None, 1)

    async def handle(self, m: IncomingMessage, now: datetime) -> None:
        s = self._s
        async with self._conn.transaction():
            row = await s["open_by_key"].fetchrow(m.business_number_id, m.customer_id)
            if row is not None and row["agent_id"] is not None:
                presence = await s["presence"].fetchrow(row["agent_id"])
                if presence is not None and presence["status"] in ("online", "grace"):
                    unanswered = row["oldest_unanswered_at"] or now
                    await s["update_conversation"].fetch(now, unanswered, row["version"] + 1, row["id"], row["version"])
                    await s["insert_message"].fetch(*_message_row(m, row["id"], row["agent_id"], now))
                    await self._event("message.received", row["agent_id"], row["id"], m)
                    return
            await s["lock"].fetchval()
            queue = await s["queue"].fetch()
            agent = queue[0]["agent_id"]
            cid = uuid.uuid4().hex
            await s["insert_conversation"].fetch(*_conversation_row(m, cid, agent, now))
            await s["insert_message"].fetch(*_message_row(m, cid, agent, now))
            await s["pending_of"].fetch(cid)
            await s["move_queue"].fetch(queue[-1]["position"] + 1, agent)
            await s["messages_of"].fetch(cid)
            await self._event("conversation.assigned", agent, cid, m)


class RawSqlite:
    """aiosqlite, one connection, the adapter's pragmas, ``BEGIN IMMEDIATE`` per message."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._s = _sql("?")

    @classmethod
    async def connect(cls, path: Path) -> RawSqlite:
        conn = await aiosqlite.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def reset(self, agents: Sequence[str]) -> None:
        for table in _TABLES:
            await self._conn.execute(f"DELETE FROM {table}")
        now = _text(datetime.now(UTC))
        for position, agent in enumerate(agents, 1):
            await self._conn.execute(self._s["add_queue"], (agent, position))
            await self._conn.execute(self._s["add_presence"], (agent, "online", now, '["socket"]', None, 1))

    async def handle(self, m: IncomingMessage, instant: datetime) -> None:
        conn, s, now = self._conn, self._s, _text(instant)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            rows = list(await conn.execute_fetchall(s["open_by_key"], (m.business_number_id, m.customer_id)))
            if rows and rows[0][7] is not None:
                cid, agent, unanswered, version = rows[0][0], rows[0][7], rows[0][10], rows[0][13]
                presence = list(await conn.execute_fetchall(s["presence"], (agent,)))
                if presence and presence[0][1] in ("online", "grace"):
                    await conn.execute(s["update_conversation"], (now, unanswered or now, version + 1, cid, version))
                    await conn.execute(s["insert_message"], _message_row(m, cid, agent, now))
                    await conn.execute("COMMIT")
                    return
            queue = list(await conn.execute_fetchall(s["queue"]))
            agent = queue[0][0]
            cid = uuid.uuid4().hex
            await conn.execute(s["insert_conversation"], _conversation_row(m, cid, agent, now))
            await conn.execute(s["insert_message"], _message_row(m, cid, agent, now))
            await conn.execute_fetchall(s["pending_of"], (cid,))
            await conn.execute(s["move_queue"], (queue[-1][1] + 1, agent))
            await conn.execute_fetchall(s["messages_of"], (cid,))
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise


def _text(instant: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive ISO text), so both sides write the same bytes."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
