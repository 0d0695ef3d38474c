"""tuning jobs: hyperparameter tuning jobs, their state, counters and best trial; training jobs name their tuning
job

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tuning_jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("team", sa.String(40), nullable=True),
        sa.Column("submitted_by", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_rank", sa.SmallInteger(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("input_uri", sa.Text(), nullable=True),
        sa.Column("output_uri", sa.Text(), nullable=True),
        sa.Column("role_arn", sa.Text(), nullable=True),
        sa.Column("image_uri", sa.Text(), nullable=True),
        sa.Column("sagemaker_arn", sa.Text(), nullable=True),
        sa.Column("objective_metric", sa.String(255), nullable=False),
        sa.Column("objective_type", sa.String(16), nullable=False),
        sa.Column("training_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("objective_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("best_training_job", sa.String(63), nullable=True),
        sa.Column("best_objective_value", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tuning_jobs")),
        sa.UniqueConstraint("name", name=op.f("uq_tuning_jobs_name")),
    )
    op.create_index(
        "ix_tuning_jobs_created_at_id", "tuning_jobs", [sa.text("created_at DESC"), sa.text("id DESC")]
    )
    # SageMaker names a trial's tuning job in its events by ARN, lowercased: the link survives any arrival order.
    op.add_column("training_jobs", sa.Column("tuning_job_name", sa.String(32), nullable=True))
    op.create_index(
        "ix_training_jobs_tuning_job_name", "training_jobs", ["tuning_job_name"],
        postgresql_where=sa.text("tuning_job_name IS NOT NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_training_jobs_tuning_job_name", table_name="training_jobs")
    op.drop_column("training_jobs", "tuning_job_name")
    op.drop_index("ix_tuning_jobs_created_at_id", table_name="tuning_jobs")
    op.drop_table("tuning_jobs")
