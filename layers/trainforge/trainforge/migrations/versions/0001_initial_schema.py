"""initial schema: jobs, history, reports, builds

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:49:18.064189
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "container_builds",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("build_id", sa.String(length=255), nullable=False),
        sa.Column("project_name", sa.String(length=255), nullable=False),
        sa.Column("base_image", sa.Text(), nullable=True),
        sa.Column("image_uri", sa.Text(), nullable=True),
        sa.Column("image_digest", sa.String(length=100), nullable=True),
        sa.Column("source_uri", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_rank", sa.SmallInteger(), nullable=False),
        sa.Column("current_phase", sa.String(length=32), nullable=True),
        sa.Column("log_url", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_container_builds")),
        sa.UniqueConstraint("build_id", name=op.f("uq_container_builds_build_id")),
    )
    op.create_index(
        "ix_container_builds_created_at_id",
        "container_builds",
        [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_name", sa.String(length=63), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("origin", sa.String(length=16), server_default="trainforge", nullable=False),
        sa.Column("environment", sa.String(length=16), server_default="sagemaker", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_rank", sa.SmallInteger(), nullable=False),
        sa.Column("secondary_status", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("source_uri", sa.Text(), nullable=True),
        sa.Column("input_uri", sa.Text(), nullable=True),
        sa.Column("output_uri", sa.Text(), nullable=True),
        sa.Column("role_arn", sa.Text(), nullable=True),
        sa.Column("image_uri", sa.Text(), nullable=True),
        sa.Column("instance_type", sa.String(length=32), nullable=True),
        sa.Column("instance_count", sa.Integer(), nullable=True),
        sa.Column("sagemaker_arn", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_training_jobs_idempotency_key")),
        sa.UniqueConstraint("job_name", name=op.f("uq_training_jobs_job_name")),
    )
    op.create_index(
        "ix_training_jobs_active_updated_at",
        "training_jobs",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("status_rank < 3"),
    )
    op.create_index(
        "ix_training_jobs_created_at_id",
        "training_jobs",
        [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_training_jobs_status_created_at_id",
        "training_jobs",
        ["status", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "training_job_status_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("secondary_status", sa.String(length=64), server_default="", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["training_jobs.id"],
            name=op.f("fk_training_job_status_history_job_id_training_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_job_status_history")),
        sa.UniqueConstraint(
            "job_id",
            "status",
            "secondary_status",
            name="uq_job_status_transition",
        ),
    )
    op.create_table(
        "training_reports",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "final_metrics",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("model_artifacts_uri", sa.Text(), nullable=True),
        sa.Column("billable_seconds", sa.Integer(), nullable=True),
        sa.Column("training_seconds", sa.Integer(), nullable=True),
        sa.Column("estimated_cost_usd", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["training_jobs.id"],
            name=op.f("fk_training_reports_job_id_training_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_reports")),
        sa.UniqueConstraint("job_id", name=op.f("uq_training_reports_job_id")),
    )


def downgrade() -> None:
    op.drop_table("training_reports")
    op.drop_table("training_job_status_history")
    op.drop_index("ix_training_jobs_status_created_at_id", table_name="training_jobs")
    op.drop_index("ix_training_jobs_created_at_id", table_name="training_jobs")
    op.drop_index(
        "ix_training_jobs_active_updated_at",
        table_name="training_jobs",
        postgresql_where=sa.text("status_rank < 3"),
    )
    op.drop_table("training_jobs")
    op.drop_index("ix_container_builds_created_at_id", table_name="container_builds")
    op.drop_table("container_builds")
