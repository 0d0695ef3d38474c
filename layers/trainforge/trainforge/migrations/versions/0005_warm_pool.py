"""warm pool: the status SageMaker last reported for a job's kept instances (events after its end carry it)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "training_jobs", sa.Column("warm_pool", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column("training_jobs", sa.Column("warm_pool_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("training_jobs", "warm_pool_at")
    op.drop_column("training_jobs", "warm_pool")
