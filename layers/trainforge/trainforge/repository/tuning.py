"""Tuning jobs: recorded before they are sent, their state changes applied in order (one statement each), and
their trials, linked by the tuning job's name whichever of the two SageMaker reports first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from trainforge.connection import Database, json_param
from trainforge.models.rows import JobRow, ReportRow, column_names, columns
from trainforge.models.status import TERMINAL_RANK, TUNING_STATUS_RANK
from trainforge.repository.paging import MAX_ID, decode_cursor, page_of

_JOB = columns(JobRow, "j")
_REPORT = columns(ReportRow, "r", "r_")
_COLUMNS = (
    "id, name, team, submitted_by, status, status_rank, failure_reason, config, input_uri, output_uri, role_arn, "
    "image_uri, sagemaker_arn, objective_metric, objective_type, training_counts, objective_counts, "
    "best_training_job, best_objective_value, created_at, updated_at, submitted_at, ended_at, last_modified_at, "
    "budget_month, budget_held_usd, budget_released_at"
)


@dataclass(frozen=True)
class TuningRow:
    id: int
    name: str
    team: str | None
    submitted_by: str | None
    status: str
    status_rank: int
    failure_reason: str | None
    config: dict[str, Any]
    input_uri: str | None
    output_uri: str | None
    role_arn: str | None
    image_uri: str | None
    sagemaker_arn: str | None
    objective_metric: str
    objective_type: str
    training_counts: dict[str, int] | None
    objective_counts: dict[str, int] | None
    best_training_job: str | None
    best_objective_value: float | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    ended_at: datetime | None
    last_modified_at: datetime | None
    budget_month: date | None
    budget_held_usd: Decimal
    budget_released_at: datetime | None


@dataclass(frozen=True)
class TuningStateChange:
    name: str
    status: str
    failure_reason: str | None = None
    sagemaker_arn: str | None = None
    last_modified_at: datetime | None = None
    ended_at: datetime | None = None
    training_counts: dict[str, int] | None = None
    objective_counts: dict[str, int] | None = None
    best_training_job: str | None = None
    best_objective_value: float | None = None


_INSERT = f"""
INSERT INTO tuning_jobs (name, team, submitted_by, status, status_rank, config, input_uri, output_uri, role_arn,
    image_uri, objective_metric, objective_type)
VALUES (:name, :team, :submitted_by, 'Pending', 0, CAST(:config AS jsonb), :input_uri, :output_uri, :role_arn,
    :image_uri, :objective_metric, :objective_type)
ON CONFLICT (name) DO NOTHING
RETURNING {_COLUMNS}
"""

# Moves only forward (a higher rank, or the same rank below terminal and a newer time); the best trial is kept
# from the newest report that names one, the counts likewise.
_ADVANCES = (
    "(CAST(:rank AS smallint) > t.status_rank OR (CAST(:rank AS smallint) = t.status_rank "
    "AND t.status_rank < :terminal AND COALESCE(CAST(:modified AS timestamptz), '-infinity') "
    "> COALESCE(t.last_modified_at, '-infinity')))"
)
_APPLY = f"""
UPDATE tuning_jobs t SET
    status = :status, status_rank = CAST(:rank AS smallint),
    failure_reason = COALESCE(:failure_reason, t.failure_reason),
    sagemaker_arn = COALESCE(t.sagemaker_arn, :arn),
    last_modified_at = COALESCE(CAST(:modified AS timestamptz), t.last_modified_at),
    ended_at = COALESCE(t.ended_at, CAST(:ended AS timestamptz),
                        CASE WHEN CAST(:rank AS smallint) >= :terminal THEN now() END),
    training_counts = COALESCE(CAST(:training_counts AS jsonb), t.training_counts),
    objective_counts = COALESCE(CAST(:objective_counts AS jsonb), t.objective_counts),
    best_training_job = COALESCE(:best, t.best_training_job),
    best_objective_value = CASE WHEN :best IS NOT NULL THEN CAST(:best_value AS double precision)
                                ELSE t.best_objective_value END,
    updated_at = now()
WHERE t.name = :name AND {_ADVANCES}
RETURNING t.id
"""


def _row(row: dict[str, Any]) -> TuningRow:
    return TuningRow(**{name: row[name] for name in TuningRow.__dataclass_fields__})


def insert_tuning_job(db: Database, values: dict[str, Any]) -> tuple[TuningRow, bool]:
    """Record a tuning job as Pending; (row, created). An existing name wins."""
    params = {**values, "config": json_param(values["config"])}
    rows = db.rows(_INSERT, params)
    if rows:
        return _row(rows[0]), True
    found = get_tuning_job_by_name(db, values["name"])
    if found is None:
        raise LookupError(values["name"])
    return found, False


def get_tuning_job(db: Database, tuning_id: int) -> TuningRow | None:
    if not 1 <= tuning_id <= MAX_ID:
        return None
    rows = db.rows(f"SELECT {_COLUMNS} FROM tuning_jobs WHERE id = :id", {"id": tuning_id})
    return _row(rows[0]) if rows else None


def get_tuning_job_by_name(db: Database, name: str) -> TuningRow | None:
    rows = db.rows(f"SELECT {_COLUMNS} FROM tuning_jobs WHERE name = :name", {"name": name})
    return _row(rows[0]) if rows else None


def list_tuning_jobs(
    db: Database, *, team: str | None, cursor: str | None, limit: int
) -> tuple[list[TuningRow], str | None]:
    conditions: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if team is not None:
        conditions.append("team = :team")
        params["team"] = team
    if cursor:
        params["cursor_at"], params["cursor_id"] = decode_cursor(cursor)
        conditions.append("(created_at, id) < (CAST(:cursor_at AS timestamptz), CAST(:cursor_id AS bigint))")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = [
        _row(r)
        for r in db.rows(
            f"SELECT {_COLUMNS} FROM tuning_jobs {where} ORDER BY created_at DESC, id DESC LIMIT :limit",
            params,
        )
    ]
    return page_of(rows, limit)


def mark_tuning_submitted(db: Database, tuning_id: int, arn: str | None) -> bool:
    rows = db.rows(
        "UPDATE tuning_jobs SET status = 'InProgress', status_rank = 1, sagemaker_arn = COALESCE(:arn, sagemaker_arn), "
        "submitted_at = now(), updated_at = now() WHERE id = :id AND status = 'Pending' RETURNING id",
        {"id": tuning_id, "arn": arn},
    )
    return bool(rows)


def finish_tuning_before_running(db: Database, tuning_id: int, status: str, reason: str | None) -> bool:
    rows = db.rows(
        "UPDATE tuning_jobs SET status = :status, status_rank = :rank, failure_reason = :reason, ended_at = now(), "
        "updated_at = now() WHERE id = :id AND status = 'Pending' RETURNING id",
        {"id": tuning_id, "status": status, "rank": TUNING_STATUS_RANK[status], "reason": reason},
    )
    return bool(rows)


def apply_tuning_state_change(db: Database, change: TuningStateChange) -> int | None:
    """Apply SageMaker's report of a tuning job Trainforge recorded; its id when it moved, else None (stale, a
    duplicate, or a tuning job Trainforge did not start). Its trials get its team."""
    rows = db.rows(
        _APPLY,
        {
            "name": change.name,
            "status": change.status,
            "rank": TUNING_STATUS_RANK.get(change.status, 1),
            "terminal": TERMINAL_RANK,
            "failure_reason": change.failure_reason,
            "arn": change.sagemaker_arn,
            "modified": change.last_modified_at,
            "ended": change.ended_at,
            "training_counts": json_param(change.training_counts) if change.training_counts else None,
            "objective_counts": json_param(change.objective_counts) if change.objective_counts else None,
            "best": change.best_training_job,
            "best_value": change.best_objective_value,
        },
    )
    db.rows(
        "UPDATE training_jobs j SET team = t.team, budget_month = COALESCE(j.budget_month, t.budget_month), "
        "updated_at = now() FROM tuning_jobs t "
        "WHERE t.name = :name AND j.tuning_job_name = lower(t.name) AND t.team IS NOT NULL "
        "AND (j.team IS DISTINCT FROM t.team OR (t.budget_month IS NOT NULL AND j.budget_month IS NULL))",
        {"name": change.name},
    )
    return int(rows[0]["id"]) if rows else None


def finished_trials_unbooked(db: Database, tuning_job_name: str) -> list[int]:
    """Trials of ``tuning_job_name`` that ended and whose cost their team's month has not booked yet (linked to
    their team after they ended, or their booking interrupted)."""
    rows = db.rows(
        "SELECT id FROM training_jobs WHERE tuning_job_name = lower(CAST(:name AS text)) AND status_rank >= :terminal "
        "AND budget_month IS NOT NULL AND budget_released_at IS NULL ORDER BY id",
        {"name": tuning_job_name, "terminal": TERMINAL_RANK},
    )
    return [int(row["id"]) for row in rows]


def link_trial(db: Database, job_id: int, tuning_job_name: str, hyperparameters: dict[str, str]) -> None:
    """A training job is a trial of ``tuning_job_name`` (lowercased, as its ARN says): linked, given the tuning
    job's team and the values it tried, and marked as started by it (once: a redelivery changes nothing)."""
    # It holds nothing itself: when it ends, its cost is booked in its team's month, drawn from its tuning job's
    # commitment (repository.teams._release_budget).
    db.rows(
        "WITH t AS (SELECT team, budget_month FROM tuning_jobs WHERE lower(name) = CAST(:tuning AS text)) "
        "UPDATE training_jobs j SET tuning_job_name = CAST(:tuning AS text), origin = 'tuning', "
        "config = COALESCE(j.config, jsonb_build_object('hyperparameters', CAST(:hyperparameters AS jsonb))), "
        "team = COALESCE(j.team, (SELECT team FROM t)), "
        "budget_month = COALESCE(j.budget_month, (SELECT budget_month FROM t)) "
        "WHERE j.id = :id AND j.tuning_job_name IS NULL",
        {"id": job_id, "tuning": tuning_job_name.lower(), "hyperparameters": json_param(hyperparameters)},
    )


def trials_of(db: Database, tuning_job_name: str) -> list[tuple[JobRow, ReportRow | None]]:
    rows = db.rows(
        f"SELECT {_JOB}, {_REPORT} FROM training_jobs j LEFT JOIN training_reports r ON r.job_id = j.id "
        "WHERE j.tuning_job_name = :tuning ORDER BY j.created_at, j.id",
        {"tuning": tuning_job_name.lower()},
    )
    report_names = column_names(ReportRow)
    return [
        (
            JobRow(**{name: row[name] for name in column_names(JobRow)}),
            ReportRow(**{name: row[f"r_{name}"] for name in report_names})
            if row["r_id"] is not None
            else None,
        )
        for row in rows
    ]


def pending_tuning_jobs(db: Database, limit: int = 50, older_than_seconds: int = 300) -> list[TuningRow]:
    """Tuning jobs still Pending a while after they were recorded: their submission request went missing."""
    rows = db.rows(
        f"SELECT {_COLUMNS} FROM tuning_jobs WHERE status = 'Pending' "
        "AND updated_at < now() - make_interval(secs => :older) ORDER BY id LIMIT :limit",
        {"limit": limit, "older": older_than_seconds},
    )
    return [_row(r) for r in rows]


def active_tuning_jobs(db: Database, limit: int = 50) -> list[TuningRow]:
    """Tuning jobs SageMaker runs that have not ended: the reconciler describes them."""
    rows = db.rows(
        f"SELECT {_COLUMNS} FROM tuning_jobs WHERE status_rank BETWEEN 1 AND 2 ORDER BY updated_at LIMIT :limit",
        {"limit": limit},
    )
    return [_row(r) for r in rows]


def finished_tuning_jobs_holding_budget(db: Database, limit: int = 100) -> list[int]:
    rows = db.rows(
        "SELECT id FROM tuning_jobs WHERE status_rank >= :terminal AND budget_month IS NOT NULL "
        "AND budget_released_at IS NULL ORDER BY id LIMIT :limit",
        {"terminal": TERMINAL_RANK, "limit": limit},
    )
    return [int(row["id"]) for row in rows]


def forget_tuning_job(db: Database, tuning_id: int) -> None:
    """A tuning job refused before it was accepted leaves no row (it held nothing yet)."""
    db.rows(
        "DELETE FROM tuning_jobs WHERE id = :id AND budget_month IS NULL AND status = 'Pending'",
        {"id": tuning_id},
    )
