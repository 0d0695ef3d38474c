"""tuning budgets: a team's tuning job commits the ceiling of all its trials against the team's month, and books
what they cost when it ends

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tuning_jobs", sa.Column("budget_month", sa.Date(), nullable=True))
    op.add_column(
        "tuning_jobs", sa.Column("budget_held_usd", sa.Numeric(14, 4), server_default="0", nullable=False)
    )
    op.add_column("tuning_jobs", sa.Column("budget_released_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("budget_released_at", "budget_held_usd", "budget_month"):
        op.drop_column("tuning_jobs", column)
