"""A job's status history (each step at the earliest time it was reported) and its report, in plain SQL with
bound parameters (see :mod:`trainforge.repository.jobs`)."""

from __future__ import annotations

from trainforge.connection import Database
from trainforge.models.rows import HistoryRow, ReportRow, columns

_HISTORY = columns(HistoryRow, "h")


def history_of(db: Database, job_id: int) -> list[HistoryRow]:
    rows = db.rows(
        f"SELECT {_HISTORY} FROM training_job_status_history h WHERE h.job_id = :id ORDER BY h.at, h.id",
        {"id": job_id},
    )
    return [HistoryRow(**row) for row in rows]


def report_of(db: Database, job_id: int) -> ReportRow | None:
    rows = db.rows(
        f"SELECT {columns(ReportRow, 'r')} FROM training_reports r WHERE r.job_id = :id", {"id": job_id}
    )
    return ReportRow(**rows[0]) if rows else None
