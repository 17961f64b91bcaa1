"""Initial schema: conversations, messages, pending messages, queue, presence, slot claims.

Revision ID: 0001
Revises:
Create Date: 2026-01-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status = 'open'")
_PENDING = sa.text("status = 'open' AND agent_id IS NULL")
_ASSIGNED = sa.text("status = 'open' AND agent_id IS NOT NULL")


def _sequence() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dispatcher_conversations",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("business_number_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_name", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("oldest_unanswered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_dispatcher_conversations_status"),
    )
    op.create_index(
        "ux_dispatcher_conversations_open_key",
        "dispatcher_conversations",
        ["business_number_id", "customer_id"],
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    op.create_index(
        "ix_dispatcher_conversations_pending",
        "dispatcher_conversations",
        [sa.text("coalesce(pending_since, opened_at)"), "opened_at", "id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    op.create_index(
        "ix_dispatcher_conversations_agent",
        "dispatcher_conversations",
        ["agent_id"],
        postgresql_where=_ASSIGNED,
        sqlite_where=_ASSIGNED,
    )
    op.create_index("ix_dispatcher_conversations_activity", "dispatcher_conversations", ["last_activity_at", "id"])
    op.create_index(
        "ix_dispatcher_conversations_unanswered",
        "dispatcher_conversations",
        ["oldest_unanswered_at"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )

    op.create_table(
        "dispatcher_messages",
        sa.Column("seq", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("business_number_id", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_to", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["dispatcher_conversations.id"], name="fk_dispatcher_messages_conversation"
        ),
        sa.UniqueConstraint("id", name="ux_dispatcher_messages_id"),
        sa.UniqueConstraint("business_number_id", "external_id", name="ux_dispatcher_messages_external"),
    )
    op.create_index("ix_dispatcher_messages_conversation", "dispatcher_messages", ["conversation_id", "seq"])

    op.create_table(
        "dispatcher_pending_messages",
        sa.Column("seq", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["dispatcher_conversations.id"], name="fk_dispatcher_pending_conversation"
        ),
        sa.ForeignKeyConstraint(["message_id"], ["dispatcher_messages.id"], name="fk_dispatcher_pending_message"),
        sa.UniqueConstraint("id", name="ux_dispatcher_pending_messages_id"),
    )
    op.create_index(
        "ix_dispatcher_pending_messages_conversation", "dispatcher_pending_messages", ["conversation_id", "seq"]
    )

    op.create_table(
        "dispatcher_queue",
        sa.Column("agent_id", sa.String(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_index("ux_dispatcher_queue_position", "dispatcher_queue", ["position"], unique=True)

    op.create_table(
        "dispatcher_presence",
        sa.Column("agent_id", sa.String(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connections", sa.Text(), nullable=False),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )

    op.create_table(
        "dispatcher_slot_claims",
        sa.Column("job", sa.String(), primary_key=True),
        sa.Column("slot", sa.String(), primary_key=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispatcher_slot_claims")
    op.drop_table("dispatcher_presence")
    op.drop_index("ux_dispatcher_queue_position", table_name="dispatcher_queue")
    op.drop_table("dispatcher_queue")
    op.drop_index("ix_dispatcher_pending_messages_conversation", table_name="dispatcher_pending_messages")
    op.drop_table("dispatcher_pending_messages")
    op.drop_index("ix_dispatcher_messages_conversation", table_name="dispatcher_messages")
    op.drop_table("dispatcher_messages")
    for index in (
        "ix_dispatcher_conversations_unanswered",
        "ix_dispatcher_conversations_activity",
        "ix_dispatcher_conversations_agent",
        "ix_dispatcher_conversations_pending",
        "ux_dispatcher_conversations_open_key",
    ):
        op.drop_index(index, table_name="dispatcher_conversations")
    op.drop_table("dispatcher_conversations")
