"""Every statement of the store, written with SQLAlchemy Core and compiled once per dialect into :class:`Sql`:
the SQL text, the order of its parameters, and which result columns hold datetimes.

Why compile ahead instead of ``connection.execute(statement)``: a unit of work is a handful of short
statements, and SQLAlchemy's per-execution machinery (execution context, DBAPI emulation over the async
driver, result objects) costs about three times the driver's own CPU per statement - measured in
``benches/sql``. The statements stay SQLAlchemy Core (one definition for both dialects, checked against the
tables); :mod:`~dispatcher_adapters.sql.drivers` runs the compiled text on the driver connection the engine's
pool hands out, and asyncpg keeps each one prepared.

Writes that may hit a unique key use ``INSERT ... ON CONFLICT DO NOTHING`` and look at the row count, rather
than catching an integrity error: on PostgreSQL a failed statement aborts the whole transaction, and the ports
promise that e.g. a duplicate message is answered ``False`` without spoiling the unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert

from dispatcher_adapters.sql.tables import (
    OPEN,
    UtcDateTime,
    conversations,
    messages,
    pending_messages,
    presence,
    queue,
    slot_claims,
)

__all__ = ["QUEUE_LOCK_KEY", "Sql", "Statements"]

#: The PostgreSQL advisory lock that serializes queue access (any constant no other lock of the database uses).
QUEUE_LOCK_KEY = 0x0D15_9A7C_4000_0001

_c = conversations.c
_m = messages.c
_p = pending_messages.c
_q = queue.c
_pr = presence.c
_s = slot_claims.c
# max(position) + 1 over the whole queue: an alias, so that inside UPDATE dispatcher_queue it is not correlated
# to the row being updated.
_q_all = queue.alias("queue_all")
_next_position = sa.func.coalesce(sa.func.max(_q_all.c.position), sa.literal_column("0")) + sa.literal_column("1")
_b = sa.bindparam
# Statuses are inlined as literals (never from input): the partial indexes only match literal predicates.
_STATUS_LITERALS = {"open": "'open'", "closed": "'closed'"}
_MESSAGE_COLUMNS = [column for column in messages.c if column.key != "seq"]
_PENDING_COLUMNS = [column for column in pending_messages.c if column.key != "seq"]


@dataclass(frozen=True, slots=True)
class Sql:
    """A compiled statement: ``text`` with positional parameters, named in ``names`` order."""

    text: str
    names: tuple[str, ...]
    #: Values of parameters the statement fixes itself (e.g. a default OFFSET), by name.
    fixed: Mapping[str, Any]
    #: Result columns holding datetimes (SQLite returns them as text, to be parsed).
    datetime_columns: tuple[int, ...]

    def args(self, params: Mapping[str, Any] | None) -> tuple[Any, ...]:
        if params is None:
            return tuple(self.fixed[name] for name in self.names)
        try:
            return tuple(params[name] if name in params else self.fixed[name] for name in self.names)
        except KeyError as exc:  # a bug in a repository, never bad input from a caller
            raise AssertionError(f"missing parameter {exc} for {self.text!r}") from None


def _compile(dialect: sa.Dialect, statement: sa.ClauseElement, columns: Sequence[str] | None = None) -> Sql:
    compiled = statement.compile(dialect=dialect, column_keys=list(columns) if columns is not None else None)
    assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
    names = tuple(compiled.positiontup or ())
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    selected = statement.selected_columns if isinstance(statement, sa.Select) else ()
    datetimes = tuple(i for i, column in enumerate(selected) if isinstance(column.type, UtcDateTime))
    return Sql(text=compiled.string, names=names, fixed=fixed, datetime_columns=datetimes)


def _insert_ignoring_duplicates(dialect: str, table: sa.Table) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` (no conflict target: every unique constraint and index counts)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _insert_columns(table: sa.Table, columns: Sequence[sa.Column[Any]] | None = None) -> list[str]:
    return [column.key for column in (columns if columns is not None else table.c)]


@dataclass(frozen=True, slots=True)
class Statements:
    dialect: sa.Dialect
    lock_queue: Sql | None
    conversation_by_id: Sql
    conversation_exists: Sql
    open_conversation_by_key: Sql
    insert_conversation: Sql
    update_conversation: Sql
    update_open_conversation: Sql
    pending_conversations: Sql
    count_pending_conversations: Sql
    conversations_by_agent: Sql
    active_counts: Sql
    timeout_candidates: Sql
    insert_message: Sql
    messages_of: Sql
    mark_delivered: Sql
    insert_pending: Sql
    pending_all: Sql
    pending_of: Sql
    delete_pending: Sql
    count_pending: Sql
    queue_all: Sql
    queue_head: Sql
    insert_queue: Sql
    delete_queue: Sql
    move_queue: Sql
    presence_by_agent: Sql
    insert_presence: Sql
    update_presence: Sql
    presence_all: Sql
    presence_with_status: Sql
    insert_slot: Sql
    delete_slot: Sql
    #: What ``LIMIT`` gets for "no limit": ``NULL`` on PostgreSQL, ``-1`` on SQLite.
    no_limit: int | None
    _lists: dict[tuple[str | None, bool, bool], Sql] = field(default_factory=dict)

    def conversation_list(self, *, status: str | None, agent_id: str | None, open_only: bool) -> Sql:
        """The admin listing for one combination of filters (compiled once per combination), most recently
        active first, with ``agent_id``, ``limit`` and ``offset`` parameters."""
        key = (status, agent_id is not None, open_only)
        compiled = self._lists.get(key)
        if compiled is None:
            statement = sa.select(conversations)
            if status is not None:
                statement = statement.where(_c.status == sa.literal_column(_STATUS_LITERALS[status]))
            if open_only:
                statement = statement.where(_c.status == OPEN)
            if agent_id is not None:
                statement = statement.where(_c.agent_id == _b("agent_id"))
            statement = (
                statement.order_by(_c.last_activity_at.desc(), _c.id.desc()).limit(_b("limit")).offset(_b("offset"))
            )
            compiled = self._lists[key] = _compile(self.dialect, statement)
        return compiled

    @classmethod
    def for_dialect(cls, dialect: sa.Dialect) -> Statements:
        name = dialect.name

        def c(statement: sa.ClauseElement, columns: Sequence[str] | None = None) -> Sql:
            return _compile(dialect, statement, columns)

        conversation_columns = sa.select(conversations)
        pending_order = (sa.func.coalesce(_c.pending_since, _c.opened_at), _c.opened_at, _c.id)
        update_conversation = (
            sa.update(conversations)
            .where(_c.id == _b("where_id"), _c.version == _b("expected_version"))
            .values(
                {
                    column.key: _b(column.key)
                    for column in conversations.c
                    if column.key not in ("id", "business_number_id", "customer_id")  # the key never changes
                }
            )
        )
        return cls(
            dialect=dialect,
            lock_queue=c(sa.text(f"SELECT pg_advisory_xact_lock({QUEUE_LOCK_KEY})")) if name == "postgresql" else None,
            conversation_by_id=c(conversation_columns.where(_c.id == _b("id"))),
            conversation_exists=c(sa.select(_c.version, _c.status).where(_c.id == _b("id"))),
            open_conversation_by_key=c(
                conversation_columns.where(
                    _c.business_number_id == _b("business_number_id"),
                    _c.customer_id == _b("customer_id"),
                    _c.status == OPEN,
                )
            ),
            insert_conversation=c(_insert_ignoring_duplicates(name, conversations), _insert_columns(conversations)),
            update_conversation=c(update_conversation),
            # An open conversation may only be saved over an open one: a closed conversation is never reopened.
            update_open_conversation=c(update_conversation.where(_c.status == OPEN)),
            pending_conversations=c(
                conversation_columns.where(_c.status == OPEN, _c.agent_id.is_(None))
                .order_by(*pending_order)
                .limit(_b("limit"))
            ),
            count_pending_conversations=c(
                sa.select(sa.func.count()).select_from(conversations).where(_c.status == OPEN, _c.agent_id.is_(None))
            ),
            conversations_by_agent=c(
                conversation_columns.where(_c.status == OPEN, _c.agent_id == _b("agent_id")).order_by(
                    sa.func.coalesce(_c.assigned_at, _c.opened_at), _c.id
                )
            ),
            active_counts=c(
                sa.select(_c.agent_id, sa.func.count())
                .where(_c.status == OPEN, _c.agent_id.is_not(None))
                .group_by(_c.agent_id)
            ),
            timeout_candidates=c(
                conversation_columns.where(
                    _c.status == OPEN,
                    sa.or_(
                        sa.and_(
                            _c.oldest_unanswered_at.is_not(None),
                            _c.agent_id.is_not(None),
                            _c.oldest_unanswered_at <= _b("unanswered_before", type_=UtcDateTime),
                        ),
                        sa.and_(
                            _c.oldest_unanswered_at.is_(None),
                            _c.last_activity_at <= _b("inactive_before", type_=UtcDateTime),
                        ),
                    ),
                ).order_by(_c.opened_at, _c.id)
            ),
            insert_message=c(_insert_ignoring_duplicates(name, messages), _insert_columns(messages, _MESSAGE_COLUMNS)),
            messages_of=c(
                sa.select(*_MESSAGE_COLUMNS).where(_m.conversation_id == _b("conversation_id")).order_by(_m.seq)
            ),
            mark_delivered=c(sa.update(messages).where(_m.id == _b("message_id")).values(delivered_to=_b("agent_id"))),
            insert_pending=c(
                _insert_ignoring_duplicates(name, pending_messages),
                _insert_columns(pending_messages, _PENDING_COLUMNS),
            ),
            pending_all=c(sa.select(*_PENDING_COLUMNS).order_by(_p.seq).limit(_b("limit"))),
            pending_of=c(
                sa.select(*_PENDING_COLUMNS)
                .where(_p.conversation_id == _b("conversation_id"))
                .order_by(_p.seq)
                .limit(_b("limit"))
            ),
            delete_pending=c(sa.delete(pending_messages).where(_p.id == _b("id"))),
            count_pending=c(sa.select(sa.func.count()).select_from(pending_messages)),
            queue_all=c(sa.select(_q.agent_id).order_by(_q.position)),
            queue_head=c(sa.select(_q.agent_id).order_by(_q.position).limit(_b("limit"))),
            # INSERT ... SELECT needs a WHERE before SQLite's ON CONFLICT (parsing ambiguity with a join's ON).
            insert_queue=c(
                _insert_ignoring_duplicates(name, queue).from_select(
                    ["agent_id", "position"],
                    sa.select(_b("new_agent_id", type_=sa.String), _next_position).where(sa.true()),
                )
            ),
            delete_queue=c(sa.delete(queue).where(_q.agent_id == _b("agent_id"))),
            move_queue=c(
                sa.update(queue)
                .where(_q.agent_id == _b("where_agent_id"))
                .values(position=sa.select(_next_position).scalar_subquery())
            ),
            presence_by_agent=c(sa.select(presence).where(_pr.agent_id == _b("agent_id"))),
            insert_presence=c(_insert_ignoring_duplicates(name, presence), _insert_columns(presence)),
            update_presence=c(
                sa.update(presence)
                .where(_pr.agent_id == _b("where_agent_id"), _pr.version == _b("expected_version"))
                .values({column.key: _b(column.key) for column in presence.c if column.key != "agent_id"})
            ),
            presence_all=c(sa.select(presence).order_by(_pr.agent_id)),
            presence_with_status=c(sa.select(presence).where(_pr.status == _b("status")).order_by(_pr.agent_id)),
            insert_slot=c(_insert_ignoring_duplicates(name, slot_claims), _insert_columns(slot_claims)),
            delete_slot=c(sa.delete(slot_claims).where(_s.job == _b("job"), _s.slot == _b("slot"))),
            no_limit=None if name == "postgresql" else -1,
        )
