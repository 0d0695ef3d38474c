"""Tuning jobs: recorded before they are sent, their state changes applied in order (one statement each), and
their trials, linked by the tuning job's name whichever of the two SageMaker reports first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from trainforge.connection import Database, json_param
from trainforge.models.rows import JobRow, ReportRow, column_names, columns
from trainforge.models.status import TERMINAL_RANK
from trainforge.repository.paging import MAX_ID, decode_cursor, page_of

_JOB = columns(JobRow, "j")
_REPORT = columns(ReportRow, "r", "r_")
TUNING_COLUMNS = (
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


def tuning_row(row: dict[str, Any]) -> TuningRow:
    return TuningRow(**{name: row[name] for name in TuningRow.__dataclass_fields__})


def get_tuning_job(db: Database, tuning_id: int) -> TuningRow | None:
    if not 1 <= tuning_id <= MAX_ID:
        return None
    rows = db.rows(f"SELECT {TUNING_COLUMNS} FROM tuning_jobs WHERE id = :id", {"id": tuning_id})
    return tuning_row(rows[0]) if rows else None


def get_tuning_job_by_name(db: Database, name: str) -> TuningRow | None:
    rows = db.rows(f"SELECT {TUNING_COLUMNS} FROM tuning_jobs WHERE name = :name", {"name": name})
    return tuning_row(rows[0]) if rows else None


def list_tuning_jobs(
    db: Database, *, team: str | None, cursor: str | None, limit: int, name: str | None = None
) -> tuple[list[TuningRow], str | None]:
    conditions: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if team is not None:
        conditions.append("team = :team")
        params["team"] = team
    if name is not None:
        conditions.append("name = :name")
        params["name"] = name
    if cursor:
        params["cursor_at"], params["cursor_id"] = decode_cursor(cursor)
        conditions.append("(created_at, id) < (CAST(:cursor_at AS timestamptz), CAST(:cursor_id AS bigint))")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = [
        tuning_row(r)
        for r in db.rows(
            f"SELECT {TUNING_COLUMNS} FROM tuning_jobs {where} ORDER BY created_at DESC, id DESC LIMIT :limit",
            params,
        )
    ]
    return page_of(rows, limit)


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
        f"SELECT {TUNING_COLUMNS} FROM tuning_jobs WHERE status = 'Pending' "
        "AND updated_at < now() - make_interval(secs => :older) ORDER BY id LIMIT :limit",
        {"limit": limit, "older": older_than_seconds},
    )
    return [tuning_row(r) for r in rows]


def active_tuning_jobs(db: Database, limit: int = 50) -> list[TuningRow]:
    """Tuning jobs SageMaker runs that have not ended: the reconciler describes them."""
    rows = db.rows(
        f"SELECT {TUNING_COLUMNS} FROM tuning_jobs WHERE status_rank BETWEEN 1 AND 2 ORDER BY updated_at LIMIT :limit",
        {"limit": limit},
    )
    return [tuning_row(r) for r in rows]


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
