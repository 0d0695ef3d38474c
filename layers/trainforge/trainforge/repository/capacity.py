"""Capacity: admitting jobs against each instance pool's quota, releasing what they held, and the waiting queue.

Every change is one statement. The count of instances Trainforge holds in a pool (``instance_capacity.in_use``)
moves only through a guarded ``UPDATE`` of the pool's row: concurrent admissions queue on that row lock, and
PostgreSQL re-evaluates the guard (``in_use + n <= limit``) on the row as the previous one left it, so two
admissions racing for the last instance cannot both pass. A job's own ``capacity_held`` is set and cleared in
the same statement as the pool's count, so a hold is never counted twice nor lost: a redelivered event finds
nothing left to release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trainforge.connection import Database, json_param
from trainforge.models.status import JOB_STATUS_RANK, JobStatus

# How long a ceiling learned from SageMaker's refusal holds before a create is tried again regardless.
CEILING_SECONDS = 600

# The limit a pool admits up to: its quota, lowered by a recent refusal's ceiling (LEAST ignores NULLs).
_LIMIT = "LEAST(c.quota, CASE WHEN c.ceiling_until > now() THEN c.ceiling END)"
_LABEL = "c.instance_type || CASE WHEN c.spot THEN ' (spot)' ELSE '' END"
# "ml.p3.2xlarge: 2 of 2 instances in use by this account" (what the account runs outside Trainforge included).
_IN_USE_TEXT = (
    f"{_LABEL} || ': ' || (c.in_use + GREATEST(COALESCE(c.quota - {_LIMIT}, 0), 0)) || ' of ' || "
    f"COALESCE(CAST({_LIMIT} AS text), '?') || ' instances in use by this account'"
)

# A team's job waits for its team's instances before it queues for the pool's (a job of no team, at once).
_PAST_TEAM = "(team IS NULL OR team_instances_held > 0)"

_ENSURE_POOL = """
INSERT INTO instance_capacity (pool, instance_type, spot) VALUES (:pool, :instance_type, :spot)
ON CONFLICT (pool) DO NOTHING
"""

# A recorded job, before it is sent: admitted at once when nobody waits ahead of it and its pool has room;
# otherwise queued with the reason; failed when it can never run (more instances than the quota, or no
# queueing allowed).
_ADMIT_NEW = f"""
WITH job AS (
    SELECT id, capacity_pool AS pool, COALESCE(instance_count, 1) AS n, priority, created_at,
        COALESCE(max_queue_seconds, :default_max_queue) AS max_queue
    FROM training_jobs
    WHERE id = :id AND status = 'Pending' AND capacity_held = 0 AND capacity_pool IS NOT NULL
    FOR UPDATE
), pool AS (
    SELECT c.pool, c.quota, {_LIMIT} AS lim, {_IN_USE_TEXT} AS in_use_text
    FROM instance_capacity c JOIN job ON c.pool = job.pool
), ahead AS (
    SELECT count(*) AS n FROM training_jobs w JOIN job ON w.capacity_pool = job.pool
    WHERE w.status = 'WaitingForCapacity' AND (w.team IS NULL OR w.team_instances_held > 0)
      AND (w.priority > job.priority
           OR (w.priority = job.priority AND (w.created_at, w.id) < (job.created_at, job.id)))
), taken AS (
    UPDATE instance_capacity c SET in_use = c.in_use + job.n, updated_at = now()
    FROM job
    WHERE c.pool = job.pool AND (SELECT n FROM ahead) = 0
      AND ({_LIMIT} IS NULL OR c.in_use + job.n <= {_LIMIT})
    RETURNING job.id, job.n
), held AS (
    UPDATE training_jobs j SET capacity_held = t.n, admitted_at = now(), updated_at = now()
    FROM taken t WHERE j.id = t.id
    RETURNING j.id
), verdict AS (
    SELECT job.id,
        CASE
            WHEN EXISTS (SELECT 1 FROM taken) THEN 'admitted'
            WHEN NOT EXISTS (SELECT 1 FROM pool) THEN 'no_pool'
            WHEN (SELECT quota FROM pool) < job.n THEN 'never'
            WHEN job.max_queue = 0 THEN 'no_wait'
            ELSE 'queued'
        END AS outcome,
        CASE
            WHEN (SELECT quota FROM pool) < job.n THEN
                'needs ' || job.n || ' instances of ' || job.pool || ' but the account''s quota is '
                || (SELECT quota FROM pool) || ': request an increase in Service Quotas'
            ELSE CASE WHEN job.max_queue = 0 THEN 'no capacity and max_queue_seconds is 0: ' ELSE '' END
                || (SELECT in_use_text FROM pool)
                || CASE WHEN (SELECT n FROM ahead) > 0
                        THEN '; ' || (SELECT n FROM ahead) || ' waiting job(s) ahead of it' ELSE '' END
        END AS detail
    FROM job
), queued AS (
    UPDATE training_jobs j SET status = 'WaitingForCapacity', waiting_since = now(), updated_at = now()
    FROM verdict v WHERE j.id = v.id AND v.outcome = 'queued'
    RETURNING j.id
), failed AS (
    UPDATE training_jobs j SET status = 'Failed', status_rank = CAST(:terminal_rank AS smallint), ended_at = now(),
        updated_at = now(), failure_reason = v.detail
    FROM verdict v WHERE j.id = v.id AND v.outcome IN ('never', 'no_wait')
    RETURNING j.id, j.status
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at, detail)
    SELECT id, 'WaitingForCapacity', 'InstanceQuota', now(), (SELECT detail FROM verdict) FROM queued
    UNION ALL
    SELECT id, status, '', now(), NULL FROM failed
    ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET detail = EXCLUDED.detail
)
SELECT outcome, detail FROM verdict
"""

# The head of a pool's queue (highest priority, then oldest), admitted when it fits; None when it does not or
# the queue is empty. Strict order: a job that does not fit is not passed by a smaller one behind it.
_ADMIT_NEXT = f"""
WITH head AS (
    SELECT id, COALESCE(instance_count, 1) AS n FROM training_jobs
    WHERE status = 'WaitingForCapacity' AND capacity_pool = :pool AND {_PAST_TEAM}
    ORDER BY priority DESC, created_at, id
    LIMIT 1
    FOR UPDATE
), taken AS (
    UPDATE instance_capacity c SET in_use = c.in_use + head.n, updated_at = now()
    FROM head WHERE c.pool = :pool AND ({_LIMIT} IS NULL OR c.in_use + head.n <= {_LIMIT})
    RETURNING head.id, head.n, {_LIMIT} - c.in_use AS room
), admitted AS (
    UPDATE training_jobs j SET status = 'Pending', capacity_held = t.n, admitted_at = now(), updated_at = now()
    FROM taken t WHERE j.id = t.id
    RETURNING j.id
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at)
    SELECT id, 'Pending', 'Admitted', now() FROM admitted
    ON CONFLICT (job_id, status, secondary_status, attempt) DO NOTHING
)
SELECT a.id, t.room FROM admitted a JOIN taken t ON t.id = a.id
"""

# A finished job gives its instances back, once: the hold is cleared and counted off in one statement.
_RELEASE = """
WITH before AS (
    SELECT id, capacity_pool, capacity_held FROM training_jobs
    WHERE id = :id AND capacity_held > 0 AND status_rank >= :terminal_rank
    FOR UPDATE
), cleared AS (
    UPDATE training_jobs j SET capacity_held = 0 FROM before b WHERE j.id = b.id RETURNING j.id
), released AS (
    UPDATE instance_capacity c SET in_use = GREATEST(c.in_use - b.capacity_held, 0), updated_at = now()
    FROM before b WHERE c.pool = b.capacity_pool
    RETURNING c.pool
)
SELECT pool FROM released
"""

# SageMaker refused the create for lack of instances: the job waits again, gives back what it held, and the
# pool learns from the answer (the quota, and what the account runs outside Trainforge) until the ceiling
# expires.
_REQUEUE = """
WITH before AS (
    SELECT id, capacity_pool, capacity_held FROM training_jobs WHERE id = :id AND status = 'Pending' FOR UPDATE
), requeued AS (
    UPDATE training_jobs j SET status = 'WaitingForCapacity', capacity_held = 0,
        waiting_since = COALESCE(j.waiting_since, now()), updated_at = now()
    FROM before b WHERE j.id = b.id
    RETURNING j.id
), pool AS (
    UPDATE instance_capacity c SET
        in_use = GREATEST(c.in_use - b.capacity_held, 0),
        quota = COALESCE(CAST(:quota AS integer), c.quota),
        quota_source = CASE WHEN CAST(:quota AS integer) IS NULL THEN c.quota_source ELSE 'sagemaker' END,
        quota_read_at = CASE WHEN CAST(:quota AS integer) IS NULL THEN c.quota_read_at ELSE now() END,
        -- Trainforge's own holds when SageMaker said "full", plus whatever room its figures say is left.
        ceiling = GREATEST(c.in_use - b.capacity_held
            + COALESCE(CAST(:quota AS integer) - CAST(:used AS integer), 0), 0),
        ceiling_until = now() + make_interval(secs => :ceiling_seconds),
        updated_at = now()
    FROM before b WHERE c.pool = b.capacity_pool
    RETURNING c.pool
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at, detail)
    SELECT id, 'WaitingForCapacity', 'ResourceLimitExceeded', now(), :detail FROM requeued
    ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET detail = EXCLUDED.detail
)
SELECT (SELECT pool FROM pool) AS pool, EXISTS (SELECT 1 FROM requeued) AS requeued
"""

# Waiting jobs past their max_queue_seconds end Failed, with how long they waited and for what.
_EXPIRE = """
WITH expired AS (
    UPDATE training_jobs j SET status = 'Failed', status_rank = CAST(:terminal_rank AS smallint),
        ended_at = now(), updated_at = now(),
        failure_reason = 'waited ' || round(extract(epoch FROM now() - j.waiting_since)) || ' s for capacity in '
            || j.capacity_pool || ' (max_queue_seconds is '
            || COALESCE(j.max_queue_seconds, :default_max_queue) || ')'
    WHERE j.status = 'WaitingForCapacity'
      AND j.waiting_since + make_interval(secs => COALESCE(j.max_queue_seconds, :default_max_queue)) <= now()
    RETURNING j.id
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at)
    SELECT id, 'Failed', '', now() FROM expired
    ON CONFLICT (job_id, status, secondary_status, attempt) DO NOTHING
)
SELECT id FROM expired
"""

_STORE_QUOTAS = """
INSERT INTO instance_capacity AS c (pool, instance_type, spot, quota, quota_source, quota_read_at)
SELECT q.pool, q.instance_type, q.spot, q.quota, 'service-quotas', now()
FROM jsonb_to_recordset(CAST(:quotas AS jsonb)) AS q(pool text, instance_type text, spot boolean, quota integer)
ON CONFLICT (pool) DO UPDATE SET quota = EXCLUDED.quota, quota_source = 'service-quotas', quota_read_at = now(),
    updated_at = now()
"""


@dataclass(frozen=True)
class Admission:
    """What admitting a new job did: ``admitted``, ``queued``, ``never``/``no_wait`` (failed), ``no_pool`` (its
    pool has no row yet) or ``not_pending`` (it was already admitted, or left Pending)."""

    outcome: str
    detail: str | None = None


@dataclass(frozen=True)
class PoolState:
    pool: str
    instance_type: str
    spot: bool
    quota: int | None
    quota_source: str | None
    quota_read_at: datetime | None
    in_use: int
    limit: int | None
    waiting: int


def ensure_pool(db: Database, pool: str, instance_type: str, spot: bool) -> None:
    db.rows(_ENSURE_POOL, {"pool": pool, "instance_type": instance_type, "spot": spot})


def admit_new(db: Database, job_id: int, default_max_queue: int) -> Admission:
    rows = db.rows(
        _ADMIT_NEW,
        {
            "id": job_id,
            "default_max_queue": default_max_queue,
            "terminal_rank": JOB_STATUS_RANK[JobStatus.FAILED],
        },
    )
    if not rows:
        return Admission("not_pending")
    return Admission(str(rows[0]["outcome"]), rows[0]["detail"])


def admit_next(db: Database, pool: str) -> tuple[int, int | None] | None:
    """The admitted job and the room left in its pool after it (None: no limit known), or None."""
    rows = db.rows(_ADMIT_NEXT, {"pool": pool})
    return (int(rows[0]["id"]), rows[0]["room"]) if rows else None


def release(db: Database, job_id: int) -> str | None:
    """Give back a finished job's instances; the pool released, or None when it held nothing (already
    released, never admitted, or not finished)."""
    rows = db.rows(_RELEASE, {"id": job_id, "terminal_rank": JOB_STATUS_RANK[JobStatus.FAILED]})
    return str(rows[0]["pool"]) if rows else None


def requeue(
    db: Database, job_id: int, detail: str, quota: int | None, used: int | None
) -> tuple[bool, str | None]:
    """The job waits again after SageMaker's ResourceLimitExceeded; (requeued, its pool)."""
    (row,) = db.rows(
        _REQUEUE,
        {
            "id": job_id,
            "detail": detail[:4000],
            "quota": quota,
            "used": used,
            "ceiling_seconds": CEILING_SECONDS,
        },
    )
    return bool(row["requeued"]), row["pool"]


def expire_waiting(db: Database, default_max_queue: int) -> list[int]:
    rows = db.rows(
        _EXPIRE,
        {"default_max_queue": default_max_queue, "terminal_rank": JOB_STATUS_RANK[JobStatus.FAILED]},
    )
    return [int(row["id"]) for row in rows]


def pools_with_waiting_jobs(db: Database) -> list[str]:
    rows = db.rows(
        "SELECT DISTINCT capacity_pool FROM training_jobs WHERE status = 'WaitingForCapacity' "
        "AND capacity_pool IS NOT NULL",
        {},
    )
    return [str(row["capacity_pool"]) for row in rows]


def finished_jobs_holding_capacity(db: Database, limit: int = 100) -> list[int]:
    """Jobs that ended but still hold instances (their release was interrupted): the sweep releases them."""
    rows = db.rows(
        "SELECT id FROM training_jobs WHERE capacity_held > 0 AND status_rank >= :terminal_rank "
        "ORDER BY id LIMIT :limit",
        {"terminal_rank": JOB_STATUS_RANK[JobStatus.FAILED], "limit": limit},
    )
    return [int(row["id"]) for row in rows]


def store_quotas(db: Database, quotas: list[dict[str, Any]]) -> None:
    """Upsert pools' quotas as Service Quotas gave them ({pool, instance_type, spot, quota})."""
    if quotas:
        db.rows(_STORE_QUOTAS, {"quotas": json_param(quotas)})


def quotas_read_at(db: Database) -> datetime | None:
    rows = db.rows(
        "SELECT max(quota_read_at) AS read_at FROM instance_capacity WHERE quota_source = 'service-quotas'",
        {},
    )
    return rows[0]["read_at"] if rows else None


def pool_state(db: Database, pool: str) -> PoolState | None:
    rows = db.rows(
        f"SELECT c.pool, c.instance_type, c.spot, c.quota, c.quota_source, c.quota_read_at, c.in_use, "
        f"{_LIMIT} AS lim, (SELECT count(*) FROM training_jobs w WHERE w.status = 'WaitingForCapacity' "
        "AND w.capacity_pool = c.pool) AS waiting FROM instance_capacity c WHERE c.pool = :pool",
        {"pool": pool},
    )
    if not rows:
        return None
    row = rows[0]
    return PoolState(
        pool=row["pool"],
        instance_type=row["instance_type"],
        spot=bool(row["spot"]),
        quota=row["quota"],
        quota_source=row["quota_source"],
        quota_read_at=row["quota_read_at"],
        in_use=int(row["in_use"]),
        limit=row["lim"],
        waiting=int(row["waiting"]),
    )


def queue_position(db: Database, job_id: int) -> int | None:
    """1 for the next job its pool admits; None when the job is not waiting."""
    rows = db.rows(
        "SELECT 1 + (SELECT count(*) FROM training_jobs w WHERE w.status = 'WaitingForCapacity' "
        "AND w.capacity_pool = j.capacity_pool AND (w.priority > j.priority OR (w.priority = j.priority "
        "AND (w.created_at, w.id) < (j.created_at, j.id)))) AS position "
        "FROM training_jobs j WHERE j.id = :id AND j.status = 'WaitingForCapacity'",
        {"id": job_id},
    )
    return int(rows[0]["position"]) if rows else None


def instances_in_use(db: Database, pool: str) -> int:
    rows = db.rows("SELECT in_use FROM instance_capacity WHERE pool = :pool", {"pool": pool})
    return int(rows[0]["in_use"]) if rows else 0
