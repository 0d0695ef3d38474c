"""A job's place in the capacity queue, as statuses: admitted (Pending) or waiting (WaitingForCapacity) with
the pool's count taken in the same statement, waiting for its team's instances, requeued after SageMaker's
refusal, failed past its longest wait (see :mod:`trainforge.repository.capacity` for the counts' rules)."""

from __future__ import annotations

from trainforge.connection import Database
from trainforge.models.status import JOB_STATUS_RANK, JobStatus
from trainforge.repository.capacity import CEILING_SECONDS, IN_USE_TEXT, PAST_TEAM, POOL_LIMIT, Admission

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
    SELECT c.pool, c.quota, {POOL_LIMIT} AS lim, {IN_USE_TEXT} AS in_use_text
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
      AND ({POOL_LIMIT} IS NULL OR c.in_use + job.n <= {POOL_LIMIT})
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
    WHERE status = 'WaitingForCapacity' AND capacity_pool = :pool AND {PAST_TEAM}
    ORDER BY priority DESC, created_at, id
    LIMIT 1
    FOR UPDATE
), taken AS (
    UPDATE instance_capacity c SET in_use = c.in_use + head.n, updated_at = now()
    FROM head WHERE c.pool = :pool AND ({POOL_LIMIT} IS NULL OR c.in_use + head.n <= {POOL_LIMIT})
    RETURNING head.id, head.n, {POOL_LIMIT} - c.in_use AS room
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


# Over its team's instance limit, a job waits like one short of capacity (and expires like one).
_WAIT_FOR_TEAM = """
WITH waiting AS (
    UPDATE training_jobs j SET status = 'WaitingForCapacity', waiting_since = COALESCE(j.waiting_since, now()),
        updated_at = now()
    WHERE j.id = :id AND j.status = 'Pending' AND j.team_instances_held = 0
    RETURNING j.id
), history AS (
    INSERT INTO training_job_status_history AS h (job_id, status, secondary_status, at, detail)
    SELECT id, 'WaitingForCapacity', 'TeamInstanceLimit', now(), :detail FROM waiting
    ON CONFLICT (job_id, status, secondary_status, attempt) DO UPDATE SET detail = EXCLUDED.detail
)
SELECT EXISTS (SELECT 1 FROM waiting) AS waiting
"""


def wait_for_team(db: Database, job_id: int, detail: str) -> bool:
    (row,) = db.rows(_WAIT_FOR_TEAM, {"id": job_id, "detail": detail[:4000]})
    return bool(row["waiting"])
