"""Reading many jobs: a page of them (keyset, newest first, with their reports) and the ones the reconciler
should look at again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trainforge.connection import Database
from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.models.rows import JobRow, ReportRow, column_names, columns
from trainforge.models.status import TERMINAL_RANK
from trainforge.repository.paging import MAX_PAGE_SIZE, decode_cursor, encode_cursor

_JOB = columns(JobRow, "j")
_REPORT = columns(ReportRow, "r", "r_")


@dataclass(frozen=True)
class JobFilters:
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    origin: str | None = None
    job_name: str | None = None
    team: str | None = None


_REPORT_FIELDS = column_names(ReportRow)


def _report(row: dict[str, Any]) -> ReportRow | None:
    if row["r_id"] is None:
        return None
    return ReportRow(**{name: row[f"r_{name}"] for name in _REPORT_FIELDS})


def list_jobs(
    db: Database, filters: JobFilters, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[tuple[JobRow, ReportRow | None]], str | None]:
    """A page of jobs, newest first, by keyset: as fast at a million rows as at a thousand."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise SageMakerConfigurationError.from_problems(
            [Problem("limit", f"must be between 1 and {MAX_PAGE_SIZE}")]
        )
    conditions = []
    params: dict[str, Any] = {"limit": limit + 1}
    for name, condition in (
        ("status", "j.status = :status"),
        ("origin", "j.origin = :origin"),
        ("job_name", "j.job_name = :job_name"),
        ("team", "j.team = :team"),
        ("created_after", "j.created_at >= CAST(:created_after AS timestamptz)"),
        ("created_before", "j.created_at < CAST(:created_before AS timestamptz)"),
    ):
        value = getattr(filters, name)
        if value:
            conditions.append(condition)
            params[name] = value
    if cursor:
        params["cursor_at"], params["cursor_id"] = decode_cursor(cursor)
        conditions.append(
            "(j.created_at, j.id) < (CAST(:cursor_at AS timestamptz), CAST(:cursor_id AS bigint))"
        )
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = db.rows(
        f"SELECT {_JOB}, {_REPORT} FROM training_jobs j LEFT JOIN training_reports r ON r.job_id = j.id "
        f"{where} ORDER BY j.created_at DESC, j.id DESC LIMIT :limit",
        params,
    )
    page = [(JobRow(**{name: row[name] for name in _JOB_NAMES}), _report(row)) for row in rows]
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1][0]
        next_cursor = encode_cursor(last.created_at, last.id)
    return page, next_cursor


_JOB_NAMES = column_names(JobRow)


def jobs_to_reconcile(db: Database, older_than_minutes: float, limit: int = 100) -> list[JobRow]:
    """Trainforge's jobs that are not finished and have heard nothing for a while (Pending ones included; waiting
    ones are the capacity sweep's)."""
    rows = db.rows(
        f"SELECT {_JOB} FROM training_jobs j WHERE j.status_rank < :terminal_rank AND j.origin = 'trainforge' "
        "AND j.status <> 'WaitingForCapacity' "
        "AND j.updated_at < now() - make_interval(secs => CAST(:seconds AS double precision)) "
        "ORDER BY j.updated_at LIMIT :limit",
        {"terminal_rank": TERMINAL_RANK, "seconds": older_than_minutes * 60, "limit": limit},
    )
    return [JobRow(**row) for row in rows]
