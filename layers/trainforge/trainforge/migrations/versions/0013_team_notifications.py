"""team notifications: each team's subscriptions (webhooks, email, chat channels) beside its definition, and one
row per event and subscription recording its delivery, so a redelivered event is never sent twice to a target
that already took it, and a team sees its last deliveries and failures.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "teams", sa.Column("notifications", JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False)
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("team", sa.String(40), nullable=False),
        sa.Column("subscription", sa.String(600), nullable=False),
        sa.Column("detail_type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("event_id", "subscription", name="uq_notification_delivery"),
    )
    op.create_index(
        "ix_notification_deliveries_team_updated_at",
        "notification_deliveries",
        ["team", sa.text("updated_at DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_team_updated_at", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_column("teams", "notifications")
