"""Training jobs: their state changes (one conditional statement each), history, reports and listing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.models.changes import ApplyOutcome, JobStateChange
from trainforge.models.database import JobStatusHistory, TrainingJob, TrainingReport
from trainforge.models.status import (
    JOB_STATUS_RANK,
    TERMINAL_RANK,
    JobStatus,
)
from trainforge.repository.paging import MAX_ID, MAX_PAGE_SIZE, decode_cursor, encode_cursor

# One statement per state change: the upsert (or, for unknown jobs when external ones are not recorded, nothing),
# the history row, and on a terminal status the report, merged with whatever an earlier delivery wrote.
# The status moves only forward ("advances": a higher rank, or the same rank below terminal and newer); the
# job's facts (ARN, instance, role, image, data, times) are merged from every delivery in any order, so a job
# first seen through a sparse event ends with everything later events report.
_APPLY_JOB_STATE = text(
    """
WITH prior AS (
    SELECT status_rank, last_modified_at FROM training_jobs WHERE job_name = :job_name
), upserted AS (
    INSERT INTO training_jobs AS j (
        job_name, origin, environment, status, status_rank, secondary_status, failure_reason, sagemaker_arn,
        instance_type, instance_count, role_arn, image_uri, input_uri, output_uri,
        created_at, updated_at, started_at, ended_at, last_modified_at)
    SELECT :job_name, 'external', 'sagemaker', :status, :rank, :secondary_status, :failure_reason, :arn,
        :instance_type, :instance_count, :role_arn, :image_uri, :input_uri, :output_uri,
        COALESCE(CAST(:created_at AS timestamptz), now()), now(), :started_at, :ended_at, :last_modified_at
    WHERE CAST(:record_external AS boolean)
       OR EXISTS (SELECT 1 FROM training_jobs WHERE job_name = :job_name)
    ON CONFLICT (job_name) DO UPDATE SET
        status = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN EXCLUDED.status ELSE j.status END,
        status_rank = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN EXCLUDED.status_rank ELSE j.status_rank END,
        secondary_status = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN EXCLUDED.secondary_status ELSE j.secondary_status END,
        failure_reason = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN COALESCE(EXCLUDED.failure_reason, j.failure_reason) ELSE COALESCE(j.failure_reason, EXCLUDED.failure_reason) END,
        started_at = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN COALESCE(EXCLUDED.started_at, j.started_at) ELSE COALESCE(j.started_at, EXCLUDED.started_at) END,
        ended_at = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN COALESCE(EXCLUDED.ended_at, j.ended_at) ELSE COALESCE(j.ended_at, EXCLUDED.ended_at) END,
        last_modified_at = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN COALESCE(EXCLUDED.last_modified_at, j.last_modified_at) ELSE j.last_modified_at END,
        updated_at = CASE WHEN (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity'))) THEN now() ELSE j.updated_at END,
        sagemaker_arn = COALESCE(j.sagemaker_arn, EXCLUDED.sagemaker_arn),
        instance_type = COALESCE(j.instance_type, EXCLUDED.instance_type),
        instance_count = COALESCE(j.instance_count, EXCLUDED.instance_count),
        role_arn = COALESCE(j.role_arn, EXCLUDED.role_arn),
        image_uri = COALESCE(j.image_uri, EXCLUDED.image_uri),
        input_uri = COALESCE(j.input_uri, EXCLUDED.input_uri),
        output_uri = COALESCE(j.output_uri, EXCLUDED.output_uri),
        created_at = LEAST(j.created_at, EXCLUDED.created_at)
    WHERE (EXCLUDED.status_rank > j.status_rank OR (EXCLUDED.status_rank = j.status_rank AND j.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_modified_at, '-infinity') > COALESCE(j.last_modified_at, '-infinity')))
       OR (j.sagemaker_arn IS NULL AND EXCLUDED.sagemaker_arn IS NOT NULL)
       OR (j.instance_type IS NULL AND EXCLUDED.instance_type IS NOT NULL)
       OR (j.instance_count IS NULL AND EXCLUDED.instance_count IS NOT NULL)
       OR (j.role_arn IS NULL AND EXCLUDED.role_arn IS NOT NULL)
       OR (j.image_uri IS NULL AND EXCLUDED.image_uri IS NOT NULL)
       OR (j.input_uri IS NULL AND EXCLUDED.input_uri IS NOT NULL)
       OR (j.output_uri IS NULL AND EXCLUDED.output_uri IS NOT NULL)
       OR (j.failure_reason IS NULL AND EXCLUDED.failure_reason IS NOT NULL)
       OR (j.started_at IS NULL AND EXCLUDED.started_at IS NOT NULL)
       OR (j.ended_at IS NULL AND EXCLUDED.ended_at IS NOT NULL)
       OR EXCLUDED.created_at < j.created_at
    RETURNING j.id, (j.xmax = 0) AS created, j.status_rank, j.last_modified_at
), target AS (
    SELECT id FROM upserted
    UNION ALL
    SELECT id FROM training_jobs WHERE job_name = :job_name
    LIMIT 1
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at)
    SELECT id, :status, COALESCE(:secondary_status, ''), COALESCE(CAST(:at AS timestamptz), now()) FROM target
    ON CONFLICT (job_id, status, secondary_status) DO UPDATE SET at = EXCLUDED.at
    WHERE EXCLUDED.at < h.at
    RETURNING 1
), report AS (
    INSERT INTO training_reports AS r (
        job_id, final_metrics, model_artifacts_uri, billable_seconds, training_seconds, estimated_cost_usd)
    SELECT id, CAST(:final_metrics AS jsonb), :model_artifacts_uri, :billable_seconds, :training_seconds,
        :estimated_cost_usd
    FROM target WHERE CAST(:terminal AS boolean)
    ON CONFLICT (job_id) DO UPDATE SET
        final_metrics = r.final_metrics || EXCLUDED.final_metrics,
        model_artifacts_uri = COALESCE(EXCLUDED.model_artifacts_uri, r.model_artifacts_uri),
        billable_seconds = COALESCE(EXCLUDED.billable_seconds, r.billable_seconds),
        training_seconds = COALESCE(EXCLUDED.training_seconds, r.training_seconds),
        estimated_cost_usd = COALESCE(EXCLUDED.estimated_cost_usd, r.estimated_cost_usd),
        updated_at = now()
    RETURNING 1
)
SELECT (SELECT id FROM target) AS job_id,
       COALESCE((SELECT created FROM upserted), false) AS created,
       EXISTS (
           SELECT 1 FROM upserted u
           WHERE u.created OR NOT EXISTS (
               SELECT 1 FROM prior p WHERE p.status_rank = u.status_rank
                   AND p.last_modified_at IS NOT DISTINCT FROM u.last_modified_at)
       ) AS applied
"""
)


def apply_job_state_change(
    db: Session, change: JobStateChange, *, record_external: bool, estimated_cost_usd: Decimal | None = None
) -> ApplyOutcome:
    """Apply a SageMaker state, once, in order; record history and (when terminal) the report."""
    rank = JOB_STATUS_RANK[change.status]
    row = db.execute(
        _APPLY_JOB_STATE,
        {
            "job_name": change.job_name,
            "status": change.status,
            "rank": rank,
            "terminal_rank": TERMINAL_RANK,
            "secondary_status": change.secondary_status,
            "failure_reason": change.failure_reason,
            "arn": change.sagemaker_arn,
            "instance_type": change.instance_type,
            "instance_count": change.instance_count,
            "role_arn": change.role_arn,
            "image_uri": change.image_uri,
            "input_uri": change.input_uri,
            "output_uri": change.output_uri,
            "created_at": change.created_at,
            "started_at": change.started_at,
            "ended_at": change.ended_at,
            "last_modified_at": change.last_modified_at,
            "at": change.last_modified_at or change.ended_at or change.started_at or change.created_at,
            "record_external": record_external,
            "terminal": rank == TERMINAL_RANK,
            "final_metrics": json.dumps(change.final_metrics),
            "model_artifacts_uri": change.model_artifacts_uri,
            "billable_seconds": change.billable_seconds,
            "training_seconds": change.training_seconds,
            "estimated_cost_usd": estimated_cost_usd,
        },
    ).one()
    return ApplyOutcome(job_id=row.job_id, created=bool(row.created), applied=bool(row.applied))


def insert_pending_job(db: Session, values: dict[str, Any]) -> tuple[int, bool]:
    """Record a job before submission. Returns (id, created); an existing name or idempotency key wins."""
    statement = (
        pg_insert(TrainingJob)
        .values(status=JobStatus.PENDING, status_rank=JOB_STATUS_RANK[JobStatus.PENDING], **values)
        .on_conflict_do_nothing()
        .returning(TrainingJob.id)
    )
    new_id = db.execute(statement).scalar()
    if new_id is not None:
        return int(new_id), True
    existing = find_job_for_submission(db, values["job_name"], values.get("idempotency_key"))
    if existing is None:  # a concurrent delete between the two statements: treat as a conflict to report
        raise SageMakerConfigurationError("job name is taken by a job being deleted", field="job_name")
    return existing.id, False


def find_job_for_submission(db: Session, job_name: str, idempotency_key: str | None) -> TrainingJob | None:
    if idempotency_key:
        by_key = db.scalars(select(TrainingJob).where(TrainingJob.idempotency_key == idempotency_key)).first()
        if by_key is not None:
            return by_key
    return db.scalars(select(TrainingJob).where(TrainingJob.job_name == job_name)).first()


def get_job(db: Session, job_id: int) -> TrainingJob | None:
    if not 1 <= job_id <= MAX_ID:
        return None
    return db.get(TrainingJob, job_id)


def get_job_by_name(db: Session, job_name: str) -> TrainingJob | None:
    return db.scalars(select(TrainingJob).where(TrainingJob.job_name == job_name)).first()


def mark_submitted(db: Session, job_id: int, arn: str | None, notes: list[str] | None = None) -> bool:
    """SageMaker accepted the job: Pending becomes InProgress/Starting unless an event got there first."""
    pending = TrainingJob.status == JobStatus.PENDING
    was_pending = db.execute(
        select(TrainingJob.id).where(TrainingJob.id == job_id, pending).with_for_update()
    ).first()
    db.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id)
        .values(
            sagemaker_arn=arn,
            notes=notes or [],
            submitted_at=text("now()"),
            updated_at=text("now()"),
            status=_case(pending, JobStatus.IN_PROGRESS, TrainingJob.status),
            status_rank=_case(pending, JOB_STATUS_RANK[JobStatus.IN_PROGRESS], TrainingJob.status_rank),
            secondary_status=_case(pending, "Starting", TrainingJob.secondary_status),
        )
    )
    if was_pending:
        record_history(db, job_id, JobStatus.IN_PROGRESS, "Starting", None)
    return was_pending is not None


def _case(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


def finish_before_running(db: Session, job_id: int, status: str, reason: str | None) -> bool:
    """End a job that never ran (rejected, failed at submission, cancelled while pending). Only from Pending."""
    result = db.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id, TrainingJob.status == JobStatus.PENDING)
        .values(
            status=status,
            status_rank=JOB_STATUS_RANK[status],
            failure_reason=reason,
            ended_at=text("now()"),
            updated_at=text("now()"),
        )
        .returning(TrainingJob.id)
    )
    changed = result.first() is not None
    if changed:
        record_history(db, job_id, status, None, None)
    return changed


def record_history(
    db: Session, job_id: int, status: str, secondary_status: str | None, at: datetime | None
) -> None:
    """The earliest report of each (status, secondary status) wins, whatever the order of arrival."""
    statement = pg_insert(JobStatusHistory).values(
        job_id=job_id, status=status, secondary_status=secondary_status or "", at=at or text("now()")
    )
    db.execute(
        statement.on_conflict_do_update(
            constraint="uq_job_status_transition",
            set_={"at": statement.excluded.at},
            where=statement.excluded.at < JobStatusHistory.at,
        )
    )


def history_of(db: Session, job_id: int) -> list[JobStatusHistory]:
    return list(
        db.scalars(
            select(JobStatusHistory)
            .where(JobStatusHistory.job_id == job_id)
            .order_by(JobStatusHistory.at, JobStatusHistory.id)
        )
    )


def report_of(db: Session, job_id: int) -> TrainingReport | None:
    return db.scalars(select(TrainingReport).where(TrainingReport.job_id == job_id)).first()


@dataclass(frozen=True)
class JobFilters:
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    origin: str | None = None
    job_name: str | None = None


def list_jobs(
    db: Session, filters: JobFilters, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[tuple[TrainingJob, TrainingReport | None]], str | None]:
    """A page of jobs, newest first, by keyset: as fast at a million rows as at a thousand."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise SageMakerConfigurationError.from_problems(
            [Problem("limit", f"must be between 1 and {MAX_PAGE_SIZE}")]
        )
    query = select(TrainingJob, TrainingReport).outerjoin(
        TrainingReport, TrainingReport.job_id == TrainingJob.id
    )
    if filters.status:
        query = query.where(TrainingJob.status == filters.status)
    if filters.origin:
        query = query.where(TrainingJob.origin == filters.origin)
    if filters.job_name:
        query = query.where(TrainingJob.job_name == filters.job_name)
    if filters.created_after:
        query = query.where(TrainingJob.created_at >= filters.created_after)
    if filters.created_before:
        query = query.where(TrainingJob.created_at < filters.created_before)
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(tuple_(TrainingJob.created_at, TrainingJob.id) < tuple_(created_at, row_id))
    query = query.order_by(TrainingJob.created_at.desc(), TrainingJob.id.desc()).limit(limit + 1)
    rows: list[tuple[TrainingJob, TrainingReport | None]] = [
        (job, report) for job, report in db.execute(query).all()
    ]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(last.created_at, last.id)
    return rows, next_cursor


def jobs_to_reconcile(db: Session, older_than_minutes: float, limit: int = 100) -> list[TrainingJob]:
    """Trainforge's jobs that are not finished and have heard nothing for a while (Pending ones included)."""
    return list(
        db.scalars(
            select(TrainingJob)
            .where(
                TrainingJob.status_rank < TERMINAL_RANK,
                TrainingJob.origin == "trainforge",
                TrainingJob.updated_at
                < text("now() - make_interval(secs => :seconds)").bindparams(seconds=older_than_minutes * 60),
            )
            .order_by(TrainingJob.updated_at)
            .limit(limit)
        )
    )
