"""capacity and prices: jobs wait for instances (WaitingForCapacity), each instance pool counts what Trainforge
holds against the account's quota, and SageMaker's training prices are kept as AWS's Price List gave them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # "WaitingForCapacity" is 18 characters.
    op.alter_column("training_jobs", "status", type_=sa.String(32), existing_type=sa.String(16))
    op.alter_column("training_job_status_history", "status", type_=sa.String(32), existing_type=sa.String(16))
    op.add_column("training_job_status_history", sa.Column("detail", sa.Text(), nullable=True))
    for column in (
        sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("capacity_pool", sa.String(48), nullable=True),
        sa.Column("capacity_held", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_queue_seconds", sa.Integer(), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cost_ceiling_usd", sa.Numeric(14, 4), nullable=True),
        sa.Column("price_per_hour_usd", sa.Numeric(12, 6), nullable=True),
        sa.Column("price_source", sa.String(64), nullable=True),
    ):
        op.add_column("training_jobs", column)
    op.create_index(
        "ix_training_jobs_waiting_queue",
        "training_jobs",
        ["capacity_pool", sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=sa.text("status = 'WaitingForCapacity'"),
    )
    op.create_table(
        "instance_capacity",
        sa.Column("pool", sa.String(48), nullable=False),
        sa.Column("instance_type", sa.String(32), nullable=False),
        sa.Column("spot", sa.Boolean(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("quota_source", sa.String(32), nullable=True),
        sa.Column("quota_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_use", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ceiling", sa.Integer(), nullable=True),
        sa.Column("ceiling_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("in_use >= 0", name=op.f("ck_instance_capacity_in_use_not_negative")),
        sa.PrimaryKeyConstraint("pool", name=op.f("pk_instance_capacity")),
    )
    op.create_table(
        "instance_prices",
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("instance_type", sa.String(32), nullable=False),
        sa.Column("usd_per_hour", sa.Numeric(12, 6), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("region", "instance_type", name=op.f("pk_instance_prices")),
    )


def downgrade() -> None:
    op.drop_table("instance_prices")
    op.drop_table("instance_capacity")
    op.drop_index("ix_training_jobs_waiting_queue", table_name="training_jobs")
    for name in (
        "price_source", "price_per_hour_usd", "cost_ceiling_usd", "admitted_at", "waiting_since",
        "max_queue_seconds", "capacity_held", "capacity_pool", "priority",
    ):  # fmt: skip
        op.drop_column("training_jobs", name)
    op.drop_column("training_job_status_history", "detail")
    op.execute("DELETE FROM training_job_status_history WHERE status = 'WaitingForCapacity'")
    op.execute("UPDATE training_jobs SET status = 'Pending' WHERE status = 'WaitingForCapacity'")
    op.alter_column("training_job_status_history", "status", type_=sa.String(16), existing_type=sa.String(32))
    op.alter_column("training_jobs", "status", type_=sa.String(16), existing_type=sa.String(32))
