"""teams: who may see and do what (members, dataset prefix, limits), each month's spend and commitments, and
which team a job or build belongs to

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column(
            "members",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("monthly_budget_usd", sa.Numeric(12, 2), nullable=True),
        sa.Column("max_instances_in_flight", sa.Integer(), nullable=True),
        sa.Column("allowed_instance_types", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("max_runtime_seconds", sa.Integer(), nullable=True),
        sa.Column("instances_in_flight", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("instances_in_flight >= 0", name=op.f("ck_teams_instances_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_teams")),
    )
    op.create_table(
        "team_spend",
        sa.Column("team", sa.String(40), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("spent_usd", sa.Numeric(14, 4), server_default="0", nullable=False),
        sa.Column("committed_usd", sa.Numeric(14, 4), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["team"], ["teams.name"], name=op.f("fk_team_spend_team_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team", "month", name=op.f("pk_team_spend")),
    )
    for table in ("training_jobs", "container_builds"):
        op.add_column(table, sa.Column("team", sa.String(40), nullable=True))
        op.add_column(table, sa.Column("submitted_by", sa.Text(), nullable=True))
        op.create_index(
            f"ix_{table}_team_created_at_id", table, ["team", sa.text("created_at DESC"), sa.text("id DESC")]
        )
    op.add_column("training_jobs", sa.Column("budget_month", sa.Date(), nullable=True))
    op.add_column(
        "training_jobs", sa.Column("budget_held_usd", sa.Numeric(14, 4), server_default="0", nullable=False)
    )
    op.add_column("training_jobs", sa.Column("budget_released_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "training_jobs", sa.Column("team_instances_held", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    for column in ("team_instances_held", "budget_released_at", "budget_held_usd", "budget_month"):
        op.drop_column("training_jobs", column)
    for table in ("training_jobs", "container_builds"):
        op.drop_index(f"ix_{table}_team_created_at_id", table_name=table)
        op.drop_column(table, "submitted_by")
        op.drop_column(table, "team")
    op.drop_table("team_spend")
    op.drop_table("teams")
