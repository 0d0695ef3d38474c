"""A tuning job's status: recorded Pending, then SageMaker's reports applied only forward."""

from __future__ import annotations

from typing import Any

from trainforge.connection import Database, json_param
from trainforge.models.status import TERMINAL_RANK, TUNING_STATUS_RANK
from trainforge.repository.tuning import (
    TUNING_COLUMNS,
    TuningRow,
    TuningStateChange,
    get_tuning_job_by_name,
    tuning_row,
)

_INSERT = f"""
INSERT INTO tuning_jobs (name, team, submitted_by, status, status_rank, config, input_uri, output_uri, role_arn,
    image_uri, objective_metric, objective_type)
VALUES (:name, :team, :submitted_by, 'Pending', 0, CAST(:config AS jsonb), :input_uri, :output_uri, :role_arn,
    :image_uri, :objective_metric, :objective_type)
ON CONFLICT (name) DO NOTHING
RETURNING {TUNING_COLUMNS}
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


def insert_tuning_job(db: Database, values: dict[str, Any]) -> tuple[TuningRow, bool]:
    """Record a tuning job as Pending; (row, created). An existing name wins."""
    params = {**values, "config": json_param(values["config"])}
    rows = db.rows(_INSERT, params)
    if rows:
        return tuning_row(rows[0]), True
    found = get_tuning_job_by_name(db, values["name"])
    if found is None:
        raise LookupError(values["name"])
    return found, False


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
