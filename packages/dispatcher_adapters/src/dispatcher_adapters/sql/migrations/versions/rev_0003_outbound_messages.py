"""The outbox in the store: outbound messages with their send state (issue 12, DESIGN I9), and the send slots
shared by every instance (throughput per phone number).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatcher_outbound_messages",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("conversation_id", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("wamid", sa.String(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("template_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("agent_id", "client_id", name="ux_dispatcher_outbound_client"),
        sa.UniqueConstraint("wamid", name="ux_dispatcher_outbound_wamid"),
    )
    op.create_index("ix_dispatcher_outbound_due", "dispatcher_outbound_messages", ["status", "due_at", "id"])
    op.create_index(
        "ix_dispatcher_outbound_status", "dispatcher_outbound_messages", ["status", "updated_at", "created_at", "id"]
    )
    op.create_index(
        "ix_dispatcher_outbound_conversation", "dispatcher_outbound_messages", ["conversation_id", "created_at", "id"]
    )
    op.create_index("ix_dispatcher_outbound_created", "dispatcher_outbound_messages", ["created_at"])
    op.create_table(
        "dispatcher_throughput",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("next_slot_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispatcher_throughput")
    op.drop_table("dispatcher_outbound_messages")
