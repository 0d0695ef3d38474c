"""SQLAlchemy 2 models: training jobs, their status history and reports, and container builds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names keep Alembic's autogenerate and the migrations in step.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TrainingJob(Base):
    """One training job: submitted by Trainforge, or seen in the account (``origin='external'``)."""

    __tablename__ = "training_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_name: Mapped[str] = mapped_column(String(63), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    origin: Mapped[str] = mapped_column(String(16), server_default="trainforge")
    environment: Mapped[str] = mapped_column(String(16), server_default="sagemaker")
    status: Mapped[str] = mapped_column(String(32))
    status_rank: Mapped[int] = mapped_column(SmallInteger)
    secondary_status: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    source_uri: Mapped[str | None] = mapped_column(Text)
    input_uri: Mapped[str | None] = mapped_column(Text)
    output_uri: Mapped[str | None] = mapped_column(Text)
    role_arn: Mapped[str | None] = mapped_column(Text)
    image_uri: Mapped[str | None] = mapped_column(Text)
    instance_type: Mapped[str | None] = mapped_column(String(32))
    instance_count: Mapped[int | None] = mapped_column(Integer)
    sagemaker_arn: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # SageMaker's LastModifiedTime of the newest state applied: with the rank, it orders late events.
    last_modified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What ran differently from SageMaker (local mode's stand-ins), said where the user reads the job.
    notes: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # A failed job's last log lines (bounded), so its traceback is read without opening CloudWatch.
    log_tail: Mapped[list[str] | None] = mapped_column(JSONB)
    # Capacity: the pool (instance type, spot or not) the job draws on, its place in the waiting queue, and the
    # instances it holds from admission to its end (counted in instance_capacity.in_use).
    priority: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    capacity_pool: Mapped[str | None] = mapped_column(String(48))
    capacity_held: Mapped[int] = mapped_column(Integer, server_default="0")
    max_queue_seconds: Mapped[int | None] = mapped_column(Integer)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    admitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The most it can cost, priced when it was recorded, and where the price came from.
    cost_ceiling_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    price_per_hour_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    price_source: Mapped[str | None] = mapped_column(String(200))
    # SageMaker's WarmPoolStatus (Status, ResourceRetainedBillableTimeInSeconds, ReusedByJob) as last reported,
    # with the LastModifiedTime of the report: the events that change it come after the job's end.
    warm_pool: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    warm_pool_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Teams (0006): whose job it is, who sent it, and what it holds against its team's budget and instances.
    team: Mapped[str | None] = mapped_column(String(40))
    submitted_by: Mapped[str | None] = mapped_column(Text)
    budget_month: Mapped[date | None] = mapped_column(Date)
    budget_held_usd: Mapped[Decimal] = mapped_column(Numeric(14, 4), server_default="0")
    budget_released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    team_instances_held: Mapped[int] = mapped_column(Integer, server_default="0")
    # A tuning job's trial: its tuning job's name, lowercased as SageMaker's ARN carries it (0007).
    tuning_job_name: Mapped[str | None] = mapped_column(String(32))

    history: Mapped[list[JobStatusHistory]] = relationship(
        back_populates="job",
        order_by="JobStatusHistory.at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    report: Mapped[TrainingReport | None] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        # Keyset pagination, newest first, with or without a status filter.
        Index("ix_training_jobs_created_at_id", text("created_at DESC"), text("id DESC")),
        Index("ix_training_jobs_status_created_at_id", "status", text("created_at DESC"), text("id DESC")),
        # The reconciler looks only at jobs that are not finished.
        Index("ix_training_jobs_active_updated_at", "updated_at", postgresql_where=text("status_rank < 3")),
        # Each pool's waiting queue, in admission order.
        Index(
            "ix_training_jobs_waiting_queue",
            "capacity_pool",
            text("priority DESC"),
            "created_at",
            "id",
            postgresql_where=text("status = 'WaitingForCapacity'"),
        ),
        Index("ix_training_jobs_team_created_at_id", "team", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_training_jobs_tuning_job_name",
            "tuning_job_name",
            postgresql_where=text("tuning_job_name IS NOT NULL"),
        ),
    )


class JobStatusHistory(Base):
    """Every distinct (status, secondary status) a job went through, at the earliest time it was reported: any
    number of deliveries in any order leave the same rows."""

    __tablename__ = "training_job_status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    secondary_status: Mapped[str] = mapped_column(String(64), server_default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Why, where a status needs it (the capacity a waiting job waits for).
    detail: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # SageMaker's retries (RetryStrategy) run the steps again: 1 for the first attempt (0008).
    attempt: Mapped[int] = mapped_column(SmallInteger, server_default="1")

    job: Mapped[TrainingJob] = relationship(back_populates="history")

    __table_args__ = (
        UniqueConstraint("job_id", "status", "secondary_status", "attempt", name="uq_job_status_transition"),
    )


class TrainingReport(Base):
    """What a finished job produced and cost."""

    __tablename__ = "training_reports"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"), unique=True)
    final_metrics: Mapped[dict[str, float]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    model_artifacts_uri: Mapped[str | None] = mapped_column(Text)
    billable_seconds: Mapped[int | None] = mapped_column(Integer)
    training_seconds: Mapped[int | None] = mapped_column(Integer)
    estimated_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    job: Mapped[TrainingJob] = relationship(back_populates="report")


class InstanceCapacity(Base):
    """One pool of instances (a type, on-demand or spot): the account's quota as last read, the instances
    Trainforge's admitted jobs hold, and what SageMaker last said others use. Admission changes ``in_use`` only
    through a guarded UPDATE of this row, so concurrent admissions queue on it and never overshoot."""

    __tablename__ = "instance_capacity"

    pool: Mapped[str] = mapped_column(String(48), primary_key=True)
    instance_type: Mapped[str] = mapped_column(String(32))
    spot: Mapped[bool] = mapped_column(Boolean)
    quota: Mapped[int | None] = mapped_column(Integer)
    quota_source: Mapped[str | None] = mapped_column(String(32))
    quota_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    in_use: Mapped[int] = mapped_column(Integer, server_default="0")
    # When SageMaker refused a create for this pool: how many instances Trainforge may hold until
    # ``ceiling_until`` (the quota minus what the account runs outside Trainforge), learned from its answer.
    ceiling: Mapped[int | None] = mapped_column(Integer)
    ceiling_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("in_use >= 0", name="in_use_not_negative"),)


class InstancePrice(Base):
    """SageMaker's on-demand training price of an instance type in a region, as AWS's Price List gave it."""

    __tablename__ = "instance_prices"

    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    usd_per_hour: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    sku: Mapped[str | None] = mapped_column(String(64))
    effective_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the Price List that answered: AWS's, or a stand-in's (local mode's serves the bundled table)
    source: Mapped[str] = mapped_column(String(160), server_default="AWS Price List")


class ContainerBuild(Base):
    """A training-image build run by CodeBuild."""

    __tablename__ = "container_builds"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    build_id: Mapped[str] = mapped_column(String(255), unique=True)
    project_name: Mapped[str] = mapped_column(String(255))
    base_image: Mapped[str | None] = mapped_column(Text)
    image_uri: Mapped[str | None] = mapped_column(Text)
    image_digest: Mapped[str | None] = mapped_column(String(100))
    source_uri: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    status_rank: Mapped[int] = mapped_column(SmallInteger)
    current_phase: Mapped[str | None] = mapped_column(String(32))
    log_url: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    team: Mapped[str | None] = mapped_column(String(40))
    submitted_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_container_builds_created_at_id", text("created_at DESC"), text("id DESC")),
        Index("ix_container_builds_team_created_at_id", "team", text("created_at DESC"), text("id DESC")),
    )


class Team(Base):
    """Who may see and do what: a team's members (IAM principal patterns) and its limits."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    members: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    max_instances_in_flight: Mapped[int | None] = mapped_column(Integer)
    allowed_instance_types: Mapped[list[str] | None] = mapped_column(JSONB)
    max_runtime_seconds: Mapped[int | None] = mapped_column(Integer)
    # Where the team hears of its events (0013): trainforge.models.team_definitions.Subscription's dicts.
    notifications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # Instances admitted for the team's jobs and not yet given back (moved only by guarded updates).
    instances_in_flight: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("instances_in_flight >= 0", name="instances_not_negative"),)


class TeamSpend(Base):
    """A team's month: what its finished jobs cost, and the ceilings of its jobs in flight."""

    __tablename__ = "team_spend"

    team: Mapped[str] = mapped_column(ForeignKey("teams.name", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Numeric(14, 4), server_default="0")
    committed_usd: Mapped[Decimal] = mapped_column(Numeric(14, 4), server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TuningJob(Base):
    """A hyperparameter tuning job: its request, its state as SageMaker reports it, and its best trial."""

    __tablename__ = "tuning_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    team: Mapped[str | None] = mapped_column(String(40))
    submitted_by: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    status_rank: Mapped[int] = mapped_column(SmallInteger)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    input_uri: Mapped[str | None] = mapped_column(Text)
    output_uri: Mapped[str | None] = mapped_column(Text)
    role_arn: Mapped[str | None] = mapped_column(Text)
    image_uri: Mapped[str | None] = mapped_column(Text)
    sagemaker_arn: Mapped[str | None] = mapped_column(Text)
    objective_metric: Mapped[str] = mapped_column(String(255))
    objective_type: Mapped[str] = mapped_column(String(16))
    training_counts: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    objective_counts: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    best_training_job: Mapped[str | None] = mapped_column(String(63))
    best_objective_value: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_modified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A team's tuning job holds the ceiling of all its trials against the team's month (0009).
    budget_month: Mapped[date | None] = mapped_column(Date)
    budget_held_usd: Mapped[Decimal] = mapped_column(Numeric(14, 4), server_default="0")
    budget_released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_tuning_jobs_created_at_id", text("created_at DESC"), text("id DESC")),)


class EventOutbox(Base):
    """Trainforge's own events, written by triggers in the statement that changed a status (0012), until the relay
    has published them to EventBridge. A row's id is its event's stable id."""

    __tablename__ = "event_outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    detail_type: Mapped[str] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(16))  # job, tuning_job, build, team
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_event_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )


class NotificationDelivery(Base):
    """One event sent to one of a team's subscriptions: delivered once, whatever the redeliveries (0013)."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(40))
    subscription: Mapped[str] = mapped_column(String(600))  # Subscription.key: kind:target
    detail_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # delivered, failed, logged (local mode: would send)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("event_id", "subscription", name="uq_notification_delivery"),
        Index("ix_notification_deliveries_team_updated_at", "team", text("updated_at DESC")),
    )
