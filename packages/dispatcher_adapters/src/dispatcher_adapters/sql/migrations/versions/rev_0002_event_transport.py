"""The PostgreSQL event transport: event rows and per-agent event counters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sequence() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dispatcher_events",
        sa.Column("id", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("tx", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_dispatcher_events_created", "dispatcher_events", ["created_at"])
    op.create_table(
        "dispatcher_event_counters",
        sa.Column("agent_id", sa.String(), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispatcher_event_counters")
    op.drop_index("ix_dispatcher_events_created", table_name="dispatcher_events")
    op.drop_table("dispatcher_events")
