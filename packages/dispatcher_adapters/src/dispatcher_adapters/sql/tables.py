"""The schema, as SQLAlchemy Core tables. The Alembic migrations create exactly this (a test compares them).

Constraints carry the invariants, so the database enforces them whatever the code does:

* ``ux_dispatcher_conversations_open_key`` - unique (business number, customer) among *open* conversations
  (a partial unique index ``WHERE status = 'open'``): I1, one open conversation per customer key.
* one ``agent_id`` column per conversation row: I1, a conversation never has two agents.
* ``ux_dispatcher_messages_external`` - unique (business number, WhatsApp message id): I2, a message is
  stored once, however many instances receive it.
* ``dispatcher_slot_claims`` primary key (job, slot): I7, one run per scheduled slot.
* ``ux_dispatcher_queue_position`` - one agent per queue position: the round-robin order is total.
* ``version`` columns: the compare-and-set of conversations, presences and outbound messages.
* ``dispatcher_event_counters`` primary key (agent): one per-agent event counter, bumped in the transaction of
  the events it numbers, so an agent's ``seq`` follows commit order (the PostgreSQL event transport).
* ``dispatcher_outbound_messages``: the outbox (DESIGN I9), one row per outbound message, the entity as a
  JSON document in ``data`` and beside it the columns it is looked up by; unique ``wamid`` and unique
  (``agent_id``, ``client_id``) (a resent ``reply`` frame is stored once).

Columns are declared in the order of the entities' fields: :mod:`~dispatcher_adapters.sql.rows` reads rows by
position (a test keeps the two in step).

Datetimes are timezone-aware UTC: ``timestamptz`` on PostgreSQL; on SQLite, which has no time zones, the naive
UTC value as text in SQLAlchemy's format, made aware again on read - by :mod:`~dispatcher_adapters.sql.drivers`
for the store's own statements, by :class:`UtcDateTime` for anything run through SQLAlchemy itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

__all__ = [
    "OPEN",
    "UtcDateTime",
    "api_keys",
    "conversations",
    "event_counters",
    "events",
    "messages",
    "metadata",
    "outbound_messages",
    "pending_messages",
    "presence",
    "queue",
    "slot_claims",
    "throughput",
    "whatsapp_media",
    "whatsapp_templates",
]

#: ``status = 'open'`` with the literal inlined, so the planner can match the partial indexes.
OPEN: sa.ColumnClause[str] = sa.literal_column("'open'")

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite stores the naive UTC value; PostgreSQL a ``timestamptz``."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None or dialect.name != "sqlite":
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]  # the driver gives a datetime
        return value.astimezone(UTC)  # type: ignore[no-any-return]  # same


# An always-increasing integer that gives arrival order: BIGSERIAL on PostgreSQL, the rowid on SQLite
# (only ``INTEGER PRIMARY KEY`` is auto-incremented there).
_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

conversations = sa.Table(
    "dispatcher_conversations",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("business_number_id", sa.String, nullable=False),
    sa.Column("customer_id", sa.String, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("last_activity_at", UtcDateTime, nullable=False),
    sa.Column("customer_name", sa.String, nullable=True),
    sa.Column("agent_id", sa.String, nullable=True),
    sa.Column("assigned_at", UtcDateTime, nullable=True),
    sa.Column("pending_since", UtcDateTime, nullable=True),
    sa.Column("oldest_unanswered_at", UtcDateTime, nullable=True),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Column("close_reason", sa.String, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name="ck_dispatcher_conversations_status"),
)
_c = conversations.c
_is_open = _c.status == OPEN
sa.Index(
    "ux_dispatcher_conversations_open_key",
    _c.business_number_id,
    _c.customer_id,
    unique=True,
    postgresql_where=_is_open,
    sqlite_where=_is_open,
)
_pending_where = sa.and_(_is_open, _c.agent_id.is_(None))
sa.Index(
    "ix_dispatcher_conversations_pending",
    sa.func.coalesce(_c.pending_since, _c.opened_at),
    _c.opened_at,
    _c.id,
    postgresql_where=_pending_where,
    sqlite_where=_pending_where,
)
_assigned_where = sa.and_(_is_open, _c.agent_id.is_not(None))
sa.Index(
    "ix_dispatcher_conversations_agent",
    _c.agent_id,
    postgresql_where=_assigned_where,
    sqlite_where=_assigned_where,
)
sa.Index("ix_dispatcher_conversations_activity", _c.last_activity_at, _c.id)
sa.Index(
    "ix_dispatcher_conversations_unanswered",
    _c.oldest_unanswered_at,
    postgresql_where=_is_open,
    sqlite_where=_is_open,
)

messages = sa.Table(
    "dispatcher_messages",
    metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String, nullable=False),
    sa.Column(
        "conversation_id",
        sa.String,
        sa.ForeignKey("dispatcher_conversations.id", name="fk_dispatcher_messages_conversation"),
        nullable=False,
    ),
    sa.Column("business_number_id", sa.String, nullable=False),
    sa.Column("external_id", sa.String, nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Column("delivered_to", sa.String, nullable=True),
    sa.UniqueConstraint("id", name="ux_dispatcher_messages_id"),
    sa.UniqueConstraint("business_number_id", "external_id", name="ux_dispatcher_messages_external"),
)
sa.Index("ix_dispatcher_messages_conversation", messages.c.conversation_id, messages.c.seq)

pending_messages = sa.Table(
    "dispatcher_pending_messages",
    metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String, nullable=False),
    sa.Column(
        "conversation_id",
        sa.String,
        sa.ForeignKey("dispatcher_conversations.id", name="fk_dispatcher_pending_conversation"),
        nullable=False,
    ),
    sa.Column(
        "message_id",
        sa.String,
        sa.ForeignKey("dispatcher_messages.id", name="fk_dispatcher_pending_message"),
        nullable=False,
    ),
    sa.Column("enqueued_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("id", name="ux_dispatcher_pending_messages_id"),
)
sa.Index("ix_dispatcher_pending_messages_conversation", pending_messages.c.conversation_id, pending_messages.c.seq)

queue = sa.Table(
    "dispatcher_queue",
    metadata,
    sa.Column("agent_id", sa.String, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)
# Positions are unique: every add or move writes max + 1 under the queue lock.
sa.Index("ux_dispatcher_queue_position", queue.c.position, unique=True)

presence = sa.Table(
    "dispatcher_presence",
    metadata,
    sa.Column("agent_id", sa.String, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("changed_at", UtcDateTime, nullable=False),
    # A JSON array of connection ids, sorted: a set small enough never to need a table of its own.
    sa.Column("connections", sa.Text, nullable=False),
    sa.Column("grace_until", UtcDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

slot_claims = sa.Table(
    "dispatcher_slot_claims",
    metadata,
    sa.Column("job", sa.String, primary_key=True),
    sa.Column("slot", sa.String, primary_key=True),
    sa.Column("claimed_at", UtcDateTime, nullable=False),
)

#: The approved-template catalogue (``TemplateCatalogue``): status and time apart from the definition document,
#: so a status webhook is one conditional UPDATE.
whatsapp_templates = sa.Table(
    "dispatcher_whatsapp_templates",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("language", sa.String, primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
)

#: The media ids customers' messages announced (``MediaIndex``): the first record of a media id wins.
whatsapp_media = sa.Table(
    "dispatcher_whatsapp_media",
    metadata,
    sa.Column("media_id", sa.String, primary_key=True),
    sa.Column("business_number_id", sa.String, nullable=False),
    sa.Column("customer_id", sa.String, nullable=False),
    sa.Column("external_id", sa.String, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("mime_type", sa.String, nullable=True),
    sa.Column("sha256", sa.String, nullable=True),
    sa.Column("caption", sa.Text, nullable=True),
    sa.Column("filename", sa.String, nullable=True),
)
sa.Index("ix_dispatcher_whatsapp_media_received", whatsapp_media.c.received_at)
# The PostgreSQL event transport (``events.py``): the events of a committed unit of work, written in its
# transaction and announced by NOTIFY with a pointer (``tx``, first and last ``id``); pruned after a retention.
events = sa.Table(
    "dispatcher_events",
    metadata,
    sa.Column("id", _Sequence, primary_key=True, autoincrement=True),
    sa.Column("tx", sa.BigInteger, nullable=False),
    sa.Column("agent_id", sa.String, nullable=True),
    sa.Column("seq", sa.BigInteger, nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
)
sa.Index("ix_dispatcher_events_created", events.c.created_at)

event_counters = sa.Table(
    "dispatcher_event_counters",
    metadata,
    sa.Column("agent_id", sa.String, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

outbound_messages = sa.Table(
    "dispatcher_outbound_messages",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("conversation_id", sa.String, nullable=True),
    sa.Column("agent_id", sa.String, nullable=True),
    sa.Column("client_id", sa.String, nullable=True),
    sa.Column("wamid", sa.String, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("template_name", sa.String, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # not_before, else created_at: when a queued message may be sent (the sender's claim order)
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.UniqueConstraint("agent_id", "client_id", name="ux_dispatcher_outbound_client"),
    sa.UniqueConstraint("wamid", name="ux_dispatcher_outbound_wamid"),
)
_o = outbound_messages.c
sa.Index("ix_dispatcher_outbound_due", _o.status, _o.due_at, _o.id)
sa.Index("ix_dispatcher_outbound_status", _o.status, _o.updated_at, _o.created_at, _o.id)
sa.Index("ix_dispatcher_outbound_conversation", _o.conversation_id, _o.created_at, _o.id)
sa.Index("ix_dispatcher_outbound_created", _o.created_at)

# Send slots shared by every instance (ThroughputReservations): the next free slot of each phone number, in
# microseconds since the epoch (an integer: the same arithmetic on both databases).
throughput = sa.Table(
    "dispatcher_throughput",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("next_slot_us", sa.BigInteger, nullable=False),
)

#: The public API's keys (``ApiKeyRepository``): only the SHA-256 of each key, unique, looked up on every request.
api_keys = sa.Table(
    "dispatcher_api_keys",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("hint", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("key_hash", name="uq_dispatcher_api_keys_key_hash"),
)
