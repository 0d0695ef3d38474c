"""Training jobs: their state changes (one statement each), history, reports and listing.

Every statement is plain SQL with bound parameters, run on a :class:`~trainforge.connection.Database` (the
handlers' pipelined pg8000 connection, or a SQLAlchemy ``Session`` through its adapter): one set of statements,
no ORM on the hot path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trainforge.connection import Database, json_param
from trainforge.models.rows import JobRow, ReportRow, columns
from trainforge.repository.paging import MAX_ID

_JOB = columns(JobRow, "j")
_REPORT = columns(ReportRow, "r", "r_")


def _job(rows: list[dict[str, Any]]) -> JobRow | None:
    return JobRow(**rows[0]) if rows else None


def find_job_for_submission(db: Database, job_name: str, idempotency_key: str | None) -> JobRow | None:
    """The job holding this idempotency key, else the one holding this name."""
    return _job(
        db.rows(
            f"SELECT {_JOB} FROM training_jobs j WHERE j.job_name = :job_name "
            "OR (CAST(:key AS text) IS NOT NULL AND j.idempotency_key = :key) "
            "ORDER BY (j.idempotency_key IS NOT DISTINCT FROM CAST(:key AS text)) DESC LIMIT 1",
            {"job_name": job_name, "key": idempotency_key or None},
        )
    )


def get_job(db: Database, job_id: int) -> JobRow | None:
    if not 1 <= job_id <= MAX_ID:
        return None
    return _job(db.rows(f"SELECT {_JOB} FROM training_jobs j WHERE j.id = :id", {"id": job_id}))


def get_job_by_name(db: Database, job_name: str) -> JobRow | None:
    return _job(db.rows(f"SELECT {_JOB} FROM training_jobs j WHERE j.job_name = :name", {"name": job_name}))


def set_log_tail(db: Database, job_id: int, lines: list[str]) -> bool:
    """Keep a failed job's last log lines (only while it is Failed: a late event never re-labels another end)."""
    rows = db.rows(
        "UPDATE training_jobs SET log_tail = CAST(:lines AS jsonb) WHERE id = :id AND status = 'Failed' RETURNING id",
        {"id": job_id, "lines": json_param(lines)},
    )
    return bool(rows)


def set_warm_pool(db: Database, job_id: int, warm_pool: dict[str, Any], at: datetime | None) -> bool:
    """Keep the newest warm pool status reported (a late or repeated report changes nothing)."""
    rows = db.rows(
        "UPDATE training_jobs SET warm_pool = CAST(:warm_pool AS jsonb), warm_pool_at = CAST(:at AS timestamptz) "
        "WHERE id = :id AND (warm_pool_at IS NULL OR warm_pool_at < COALESCE(CAST(:at AS timestamptz), now())) "
        "RETURNING id",
        {"id": job_id, "warm_pool": json_param(warm_pool), "at": at},
    )
    return bool(rows)
