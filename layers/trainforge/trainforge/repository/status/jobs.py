"""A training job's status: SageMaker's reports applied once and in order, the job recorded (Pending or
Rejected), marked sent, ended before it ran; and the steps of its history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from trainforge.connection import Database, json_param
from trainforge.errors import SageMakerConfigurationError
from trainforge.models.changes import ApplyOutcome, JobStateChange
from trainforge.models.status import JOB_STATUS_RANK, TERMINAL_RANK, JobStatus
from trainforge.repository.jobs import find_job_for_submission
from trainforge.repository.ordering import advances

# One statement per state change: the upsert (or, for unknown jobs when external ones are not recorded, nothing),
# the history row, and on a terminal status the report, merged with whatever an earlier delivery wrote. A job
# first heard of running (a tuning job's trial, one started outside Trainforge: nobody admitted it) counts its
# instances in its pool until its end, as an admitted job's hold (above the limit if need be: they run already).
# The status moves only forward ("advances": a higher rank, or the same rank below terminal and newer); the
# job's facts (ARN, instance, role, image, data, times) are merged from every delivery in any order, so a job
# first seen through a sparse event ends with everything later events report.
_ADVANCES = advances("j", "last_modified_at")


_APPLY_JOB_STATE = f"""
WITH prior AS (
    SELECT status_rank, last_modified_at FROM training_jobs WHERE job_name = :job_name
), upserted AS (
    INSERT INTO training_jobs AS j (
        job_name, origin, environment, status, status_rank, secondary_status, failure_reason, sagemaker_arn,
        instance_type, instance_count, role_arn, image_uri, input_uri, output_uri,
        created_at, updated_at, started_at, ended_at, last_modified_at, capacity_pool, capacity_held)
    SELECT :job_name, CASE WHEN CAST(:managed AS boolean) THEN 'trainforge' ELSE 'external' END, 'sagemaker', :status, :rank, :secondary_status, :failure_reason, :arn,
        :instance_type, :instance_count, :role_arn, :image_uri, :input_uri, :output_uri,
        COALESCE(CAST(:created_at AS timestamptz), now()), now(), :started_at, :ended_at, :last_modified_at,
        :pool, CASE WHEN CAST(:pool AS varchar) IS NOT NULL AND NOT CAST(:terminal AS boolean)
                    THEN COALESCE(:instance_count, 1) ELSE 0 END
    WHERE CAST(:record_external AS boolean) OR CAST(:managed AS boolean)
       OR EXISTS (SELECT 1 FROM training_jobs WHERE job_name = :job_name)
    ON CONFLICT (job_name) DO UPDATE SET
        status = CASE WHEN {_ADVANCES} THEN EXCLUDED.status ELSE j.status END,
        status_rank = CASE WHEN {_ADVANCES} THEN EXCLUDED.status_rank ELSE j.status_rank END,
        secondary_status = CASE WHEN {_ADVANCES} THEN EXCLUDED.secondary_status ELSE j.secondary_status END,
        failure_reason = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.failure_reason, j.failure_reason) ELSE COALESCE(j.failure_reason, EXCLUDED.failure_reason) END,
        started_at = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.started_at, j.started_at) ELSE COALESCE(j.started_at, EXCLUDED.started_at) END,
        ended_at = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.ended_at, j.ended_at) ELSE COALESCE(j.ended_at, EXCLUDED.ended_at) END,
        last_modified_at = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.last_modified_at, j.last_modified_at) ELSE j.last_modified_at END,
        updated_at = CASE WHEN {_ADVANCES} THEN now() ELSE j.updated_at END,
        sagemaker_arn = COALESCE(j.sagemaker_arn, EXCLUDED.sagemaker_arn),
        instance_type = COALESCE(j.instance_type, EXCLUDED.instance_type),
        instance_count = COALESCE(j.instance_count, EXCLUDED.instance_count),
        role_arn = COALESCE(j.role_arn, EXCLUDED.role_arn),
        image_uri = COALESCE(j.image_uri, EXCLUDED.image_uri),
        input_uri = COALESCE(j.input_uri, EXCLUDED.input_uri),
        output_uri = COALESCE(j.output_uri, EXCLUDED.output_uri),
        created_at = LEAST(j.created_at, EXCLUDED.created_at)
    WHERE {_ADVANCES}
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
    RETURNING j.id, (j.xmax = 0) AS created, j.status_rank, j.last_modified_at, j.capacity_held
), counted AS (
    INSERT INTO instance_capacity AS c (pool, instance_type, spot, in_use)
    SELECT :pool, :instance_type, CAST(:spot AS boolean), u.capacity_held FROM upserted u
    WHERE u.created AND u.capacity_held > 0
    ON CONFLICT (pool) DO UPDATE SET in_use = c.in_use + EXCLUDED.in_use, updated_at = now()
    RETURNING 1
), target AS (
    SELECT id FROM upserted
    UNION ALL
    SELECT id FROM training_jobs WHERE job_name = :job_name
    LIMIT 1
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at, attempt)
    SELECT id, :status, COALESCE(:secondary_status, ''), COALESCE(CAST(:at AS timestamptz), now()),
        CAST(:attempt AS smallint) FROM target
    ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET at = EXCLUDED.at
    WHERE EXCLUDED.at < h.at
    RETURNING 1
), report AS (
    INSERT INTO training_reports AS r (
        job_id, final_metrics, model_artifacts_uri, billable_seconds, training_seconds, estimated_cost_usd)
    SELECT t.id, CAST(:final_metrics AS jsonb), :model_artifacts_uri, :billable_seconds, :training_seconds,
        -- Priced as it was projected (the job's own price), else by AWS's price list, else the bundled table.
        round(COALESCE(
            CASE WHEN COALESCE(:instance_type, j.instance_type) = j.instance_type THEN j.price_per_hour_usd END,
            (SELECT p.usd_per_hour FROM instance_prices p
             WHERE p.region = :region AND p.instance_type = COALESCE(:instance_type, j.instance_type)),
            CAST(:bundled_price AS numeric)
        ) * CAST(:billable_seconds AS integer) * COALESCE(:instance_count, j.instance_count, 1) / 3600, 4)
    FROM target t LEFT JOIN training_jobs j ON j.id = t.id WHERE CAST(:terminal AS boolean)
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


def apply_job_state_change(
    db: Database,
    change: JobStateChange,
    *,
    record_external: bool,
    region: str | None = None,
    bundled_price: Decimal | None = None,
    pool: str | None = None,
) -> ApplyOutcome:
    """Apply a SageMaker state, once, in order; record history and (when terminal) the report, its cost priced
    by the job's own price, else the region's price from AWS's price list, else ``bundled_price``. ``pool``: the
    job's instance pool, where a job first heard of running counts its instances."""
    rank = JOB_STATUS_RANK[change.status]
    (row,) = db.rows(
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
            "final_metrics": json_param(change.final_metrics),
            "model_artifacts_uri": change.model_artifacts_uri,
            "billable_seconds": change.billable_seconds,
            "attempt": change.attempt,
            "training_seconds": change.training_seconds,
            "region": region,
            "bundled_price": bundled_price,
            "pool": pool,
            "spot": change.spot,
            # Trainforge's own job (not a tuning job's trial), reported before its submission committed: kept
            # whatever the ledger setting, as Trainforge's, for the submission to complete (_ADOPT_REPORTED).
            "managed": change.managed and change.tuning_job_name is None,
        },
    )
    return ApplyOutcome(job_id=row["job_id"], created=bool(row["created"]), applied=bool(row["applied"]))


# A new job and its first history row in one statement; a taken name or idempotency key inserts nothing.
_INSERT_JOB = """
WITH inserted AS (
    INSERT INTO training_jobs (
        job_name, idempotency_key, origin, environment, status, status_rank, failure_reason, config,
        source_uri, input_uri, output_uri, role_arn, image_uri, instance_type, instance_count, ended_at,
        priority, capacity_pool, max_queue_seconds, cost_ceiling_usd, price_per_hour_usd, price_source, team,
        submitted_by)
    VALUES (:job_name, :idempotency_key, :origin, :environment, :status, :rank, :failure_reason,
        CAST(:config AS jsonb), :source_uri, :input_uri, :output_uri, :role_arn, :image_uri, :instance_type,
        :instance_count, CASE WHEN CAST(:ended AS boolean) THEN now() END, COALESCE(:priority, 0),
        :capacity_pool, :max_queue_seconds, :cost_ceiling_usd, :price_per_hour_usd, :price_source, :team,
        :submitted_by)
    ON CONFLICT DO NOTHING
    RETURNING id
), history AS (
    INSERT INTO training_job_status_history (job_id, status, secondary_status, at)
    SELECT id, :status, '', now() FROM inserted
    ON CONFLICT DO NOTHING
)
SELECT id FROM inserted
"""


_JOB_FIELDS = (
    "job_name",
    "idempotency_key",
    "origin",
    "environment",
    "config",
    "source_uri",
    "input_uri",
    "output_uri",
    "role_arn",
    "image_uri",
    "instance_type",
    "instance_count",
    "priority",
    "capacity_pool",
    "max_queue_seconds",
    "cost_ceiling_usd",
    "price_per_hour_usd",
    "price_source",
    "team",
    "submitted_by",
)


# A job SageMaker reported before its own submission committed (recorded from its events as Trainforge's, but
# with none of Trainforge's settings): the submission fills in what only it knows (its settings, source, team,
# ceiling, the input and output it asked for) and the job counts as recorded now. Its status and SageMaker's
# facts stay as the events left them.
_COMPLETE_REPORTED_JOB = """
UPDATE training_jobs j SET
    idempotency_key = COALESCE(j.idempotency_key, :idempotency_key), environment = :environment,
    config = CAST(:config AS jsonb), source_uri = :source_uri, input_uri = :input_uri, output_uri = :output_uri,
    role_arn = :role_arn, image_uri = :image_uri, instance_type = COALESCE(j.instance_type, :instance_type),
    instance_count = COALESCE(j.instance_count, :instance_count), priority = COALESCE(:priority, 0),
    capacity_pool = COALESCE(j.capacity_pool, :capacity_pool), max_queue_seconds = :max_queue_seconds,
    cost_ceiling_usd = :cost_ceiling_usd, price_per_hour_usd = :price_per_hour_usd, price_source = :price_source,
    team = :team, submitted_by = :submitted_by, updated_at = now()
WHERE j.job_name = :job_name AND j.origin = 'trainforge' AND j.config IS NULL
  AND NOT EXISTS (SELECT 1 FROM training_jobs k WHERE k.idempotency_key = :idempotency_key AND k.id <> j.id)
RETURNING j.id
"""


def _insert_job(db: Database, values: dict[str, Any], status: str, reason: str | None) -> tuple[int, bool]:
    unknown = set(values) - set(_JOB_FIELDS)
    if unknown:
        raise TypeError(f"not a job column: {', '.join(sorted(unknown))}")
    params = {name: values.get(name) for name in _JOB_FIELDS}
    params["origin"] = params["origin"] or "trainforge"
    params["environment"] = params["environment"] or "sagemaker"
    params["config"] = json_param(params["config"]) if params["config"] is not None else None
    inserted = db.rows(
        _INSERT_JOB,
        {
            **params,
            "status": status,
            "rank": JOB_STATUS_RANK[status],
            "failure_reason": reason,
            "ended": status != JobStatus.PENDING,
        },
    )
    if inserted:
        return int(inserted[0]["id"]), True
    if status == JobStatus.PENDING and params["origin"] == "trainforge":
        completed = db.rows(_COMPLETE_REPORTED_JOB, params)
        if completed:
            return int(completed[0]["id"]), True
    existing = find_job_for_submission(db, values["job_name"], values.get("idempotency_key"))
    if existing is None:  # a concurrent delete between the two statements: treat as a conflict to report
        raise SageMakerConfigurationError("job name is taken by a job being deleted", field="job_name")
    return existing.id, False


def insert_pending_job(db: Database, values: dict[str, Any]) -> tuple[int, bool]:
    """Record a job (and its Pending history) before submission. Returns (id, created); an existing name or
    idempotency key wins, except a job of Trainforge's known only from SageMaker's events, which this
    submission completes (created: it is recorded now)."""
    return _insert_job(db, values, JobStatus.PENDING, None)


def insert_rejected_job(db: Database, values: dict[str, Any], reason: str) -> tuple[int, bool]:
    """Record a request refused before it could become a job, with why, in one statement (a redelivery finds
    the same row)."""
    return _insert_job(db, values, JobStatus.REJECTED, reason)


_MARK_SUBMITTED = """
WITH before AS (
    SELECT id, status = 'Pending' AS was_pending FROM training_jobs WHERE id = :id FOR UPDATE
), updated AS (
    UPDATE training_jobs j SET
        sagemaker_arn = :arn, notes = CAST(:notes AS jsonb), submitted_at = now(), updated_at = now(),
        status = CASE WHEN b.was_pending THEN :in_progress ELSE j.status END,
        status_rank = CASE WHEN b.was_pending THEN CAST(:in_progress_rank AS smallint) ELSE j.status_rank END,
        secondary_status = CASE WHEN b.was_pending THEN 'Starting' ELSE j.secondary_status END
    FROM before b WHERE j.id = b.id
    RETURNING j.id, b.was_pending
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at)
    SELECT id, :in_progress, 'Starting', now() FROM updated WHERE was_pending
    ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET at = EXCLUDED.at WHERE EXCLUDED.at < h.at
)
SELECT was_pending FROM updated
"""


def mark_submitted(db: Database, job_id: int, arn: str | None, notes: list[str] | None = None) -> bool:
    """SageMaker accepted the job: Pending becomes InProgress/Starting unless an event got there first."""
    rows = db.rows(
        _MARK_SUBMITTED,
        {
            "id": job_id,
            "arn": arn,
            "notes": json_param(notes or []),
            "in_progress": JobStatus.IN_PROGRESS,
            "in_progress_rank": JOB_STATUS_RANK[JobStatus.IN_PROGRESS],
        },
    )
    return bool(rows and rows[0]["was_pending"])


_FINISH_BEFORE_RUNNING = """
WITH before AS (
    SELECT id, capacity_pool, capacity_held FROM training_jobs
    WHERE id = :id AND status IN ('Pending', 'WaitingForCapacity') FOR UPDATE
), updated AS (
    UPDATE training_jobs j SET status = :status, status_rank = CAST(:rank AS smallint), failure_reason = :reason,
        ended_at = now(), updated_at = now(), capacity_held = 0
    FROM before b WHERE j.id = b.id
    RETURNING j.id
), released AS (
    -- An admitted job that never ran gives its instances back in the same statement.
    UPDATE instance_capacity c SET in_use = GREATEST(c.in_use - b.capacity_held, 0), updated_at = now()
    FROM before b WHERE c.pool = b.capacity_pool AND b.capacity_held > 0
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at)
    SELECT id, :status, '', now() FROM updated
    ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET at = EXCLUDED.at WHERE EXCLUDED.at < h.at
)
SELECT id FROM updated
"""


def finish_before_running(db: Database, job_id: int, status: str, reason: str | None) -> bool:
    """End a job that never ran (rejected, failed at submission, cancelled while pending or waiting), giving
    back the instances it held. Only from Pending or WaitingForCapacity."""
    rows = db.rows(
        _FINISH_BEFORE_RUNNING,
        {"id": job_id, "status": status, "rank": JOB_STATUS_RANK[status], "reason": reason},
    )
    return bool(rows)


def record_history(
    db: Database, job_id: int, status: str, secondary_status: str | None, at: datetime | None
) -> None:
    """The earliest report of each (status, secondary status) wins, whatever the order of arrival."""
    db.rows(
        "INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at) "
        "VALUES (:job_id, :status, :secondary_status, COALESCE(CAST(:at AS timestamptz), now())) "
        "ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET at = EXCLUDED.at WHERE EXCLUDED.at < h.at",
        {"job_id": job_id, "status": status, "secondary_status": secondary_status or "", "at": at},
    )


def record_transitions(db: Database, job_id: int, transitions: list[tuple[str, str, datetime, int]]) -> None:
    """Several (status, secondary status, time, attempt) at once, in one statement; the earliest report of each
    wins."""
    if not transitions:
        return
    rows = [
        {"status": s, "secondary_status": sec, "at": at.isoformat(), "attempt": attempt}
        for s, sec, at, attempt in transitions
    ]
    db.rows(
        "INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at, attempt) "
        "SELECT CAST(:job_id AS bigint), t.status, t.secondary_status, t.at, t.attempt "
        "FROM jsonb_to_recordset(CAST(:transitions AS jsonb)) "
        "AS t(status text, secondary_status text, at timestamptz, attempt smallint) "
        "ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET at = EXCLUDED.at WHERE EXCLUDED.at < h.at",
        {"job_id": job_id, "transitions": json_param(rows)},
    )
