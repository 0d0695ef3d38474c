"""history attempts: a job SageMaker retries (RetryStrategy) goes through its steps again; each attempt's steps are
kept apart, numbered from 1

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "training_job_status_history",
        sa.Column("attempt", sa.SmallInteger(), server_default="1", nullable=False),
    )
    op.drop_constraint("uq_job_status_transition", "training_job_status_history", type_="unique")
    op.create_unique_constraint(
        "uq_job_status_transition",
        "training_job_status_history",
        ["job_id", "status", "secondary_status", "attempt"],
    )


def downgrade() -> None:
    op.drop_constraint("uq_job_status_transition", "training_job_status_history", type_="unique")
    op.execute("DELETE FROM training_job_status_history WHERE attempt > 1")
    op.create_unique_constraint(
        "uq_job_status_transition", "training_job_status_history", ["job_id", "status", "secondary_status"]
    )
    op.drop_column("training_job_status_history", "attempt")
