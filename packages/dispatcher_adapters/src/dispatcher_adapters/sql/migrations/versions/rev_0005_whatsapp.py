"""WhatsApp: the approved-template catalogue (dispatcher_whatsapp_templates) and the media index
(dispatcher_whatsapp_media).

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatcher_whatsapp_templates",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("language", sa.String(), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
    )
    op.create_table(
        "dispatcher_whatsapp_media",
        sa.Column("media_id", sa.String(), primary_key=True),
        sa.Column("business_number_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mime_type", sa.String(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(), nullable=True),
    )
    op.create_index("ix_dispatcher_whatsapp_media_received", "dispatcher_whatsapp_media", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_dispatcher_whatsapp_media_received", table_name="dispatcher_whatsapp_media")
    op.drop_table("dispatcher_whatsapp_media")
    op.drop_table("dispatcher_whatsapp_templates")
