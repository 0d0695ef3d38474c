"""A job's status history (each step at the earliest time it was reported) and its report, in plain SQL with
bound parameters (see :mod:`trainforge.repository.jobs`)."""

from __future__ import annotations

from datetime import datetime

from trainforge.connection import Database, json_param
from trainforge.models.rows import HistoryRow, ReportRow, columns

_HISTORY = columns(HistoryRow, "h")


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
