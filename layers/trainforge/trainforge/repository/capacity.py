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
POOL_LIMIT = "LEAST(c.quota, CASE WHEN c.ceiling_until > now() THEN c.ceiling END)"
_LABEL = "c.instance_type || CASE WHEN c.spot THEN ' (spot)' ELSE '' END"
# "ml.p3.2xlarge: 2 of 2 instances in use by this account" (what the account runs outside Trainforge included).
IN_USE_TEXT = (
    f"{_LABEL} || ': ' || (c.in_use + GREATEST(COALESCE(c.quota - {POOL_LIMIT}, 0), 0)) || ' of ' || "
    f"COALESCE(CAST({POOL_LIMIT} AS text), '?') || ' instances in use by this account'"
)

# A team's job waits for its team's instances before it queues for the pool's (a job of no team, at once).
PAST_TEAM = "(team IS NULL OR team_instances_held > 0)"

_ENSURE_POOL = """
INSERT INTO instance_capacity (pool, instance_type, spot) VALUES (:pool, :instance_type, :spot)
ON CONFLICT (pool) DO NOTHING
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


def release(db: Database, job_id: int) -> str | None:
    """Give back a finished job's instances; the pool released, or None when it held nothing (already
    released, never admitted, or not finished)."""
    rows = db.rows(_RELEASE, {"id": job_id, "terminal_rank": JOB_STATUS_RANK[JobStatus.FAILED]})
    return str(rows[0]["pool"]) if rows else None


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


_POOL_STATE = (
    f"SELECT c.pool, c.instance_type, c.spot, c.quota, c.quota_source, c.quota_read_at, c.in_use, "
    f"{POOL_LIMIT} AS lim, (SELECT count(*) FROM training_jobs w WHERE w.status = 'WaitingForCapacity' "
    "AND w.capacity_pool = c.pool) AS waiting FROM instance_capacity c"
)


def pool_state(db: Database, pool: str) -> PoolState | None:
    rows = db.rows(f"{_POOL_STATE} WHERE c.pool = :pool", {"pool": pool})
    return _pool_state(rows[0]) if rows else None


def pool_states(db: Database) -> list[PoolState]:
    """Every pool Trainforge knows (one a job has asked for, or one whose quota was read), by name."""
    return [_pool_state(row) for row in db.rows(f"{_POOL_STATE} ORDER BY c.pool", {})]


@dataclass(frozen=True)
class WaitingJob:
    id: int
    job_name: str
    team: str | None
    priority: int
    pool: str
    position: int
    waiting_since: datetime | None


def waiting_jobs(db: Database, team: str | None = None, per_pool: int = 100) -> list[WaitingJob]:
    """The jobs waiting for capacity, with their place in their pool's line (as :func:`queue_position` counts
    it: priority, then age), the first ``per_pool`` of each pool; only ``team``'s when it is given."""
    rows = db.rows(
        "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY capacity_pool ORDER BY position) AS shown "
        "FROM (SELECT id, job_name, team, priority, capacity_pool, waiting_since, row_number() OVER "
        "(PARTITION BY capacity_pool ORDER BY priority DESC, created_at, id) AS position FROM training_jobs "
        "WHERE status = 'WaitingForCapacity' AND capacity_pool IS NOT NULL) w "
        "WHERE CAST(:team AS text) IS NULL OR w.team = :team) v "
        "WHERE v.shown <= :per_pool ORDER BY v.capacity_pool, v.position",
        {"team": team, "per_pool": per_pool},
    )
    return [
        WaitingJob(
            id=int(row["id"]),
            job_name=str(row["job_name"]),
            team=row["team"],
            priority=int(row["priority"]),
            pool=str(row["capacity_pool"]),
            position=int(row["position"]),
            waiting_since=row["waiting_since"],
        )
        for row in rows
    ]


def _pool_state(row: dict[str, Any]) -> PoolState:
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
