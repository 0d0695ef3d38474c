"""Hyperparameter tuning jobs: recorded (validated like a training job, for the caller's team), sent through the
same submission queue and pacer with ``CreateHyperParameterTuningJob``, followed through SageMaker's "Tuning Job
State Change" events, and shown with their trials, best first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from trainforge import repository
from trainforge.aws import error_code, error_message
from trainforge.capacity.prices import price_of
from trainforge.connection import Database
from trainforge.errors import (
    BudgetExceededError,
    InvalidJobConfigurationError,
    JobConflictError,
    JobNotFoundError,
    Problem,
    RetryableSubmissionError,
    SageMakerConfigurationError,
    SageMakerJobError,
)
from trainforge.jobs.records import (
    checked_request,
    default_output_uri,
    team_input_problems,
    training_request,
    with_deployment_defaults,
)
from trainforge.jobs.sagemaker_calls import CREATE_TUNING_JOB, create_with_backoff
from trainforge.jobs.sending import Sender
from trainforge.models.changes import parse_time
from trainforge.models.rows import TeamRow
from trainforge.models.status import TERMINAL_RANK, TUNING_STATUS_RANK, JobStatus
from trainforge.repository.tuning import TuningRow, TuningStateChange
from trainforge.settings import Settings
from trainforge.teams.budgets import check_limits, commit_ceiling
from trainforge.tracking.queries import job_to_dict
from trainforge.tuning.config import TuningConfig

Visible = Callable[[str | None], bool] | None


def record_tuning_job(
    db: Database,
    settings: Settings,
    config: TuningConfig,
    input_uri: str,
    *,
    output_uri: str | None = None,
    image_uri: str | None = None,
    team: TeamRow | None = None,
    submitted_by: str | None = None,
) -> tuple[TuningRow, bool]:
    """Validate (the tuning settings, and each trial as a training job) and record as Pending; (row, created)."""
    config = replace(config, training=with_deployment_defaults(config.training, settings))
    output = output_uri or default_output_uri(settings)
    image = image_uri or settings.default_image_uri
    problems = config.problems()
    if team is not None:
        problems += team_input_problems(settings, team, input_uri)
    try:
        checked_request(settings, config.training, input_uri, output, settings.execution_role_arn, image)
    except InvalidJobConfigurationError as exc:
        known = {p.field for p in problems}
        problems += [
            Problem(f"training.{p.field}", p.message)
            for p in exc.problems
            if f"training.{p.field}" not in known
        ]
    if problems:
        raise InvalidJobConfigurationError.from_problems(problems, "tuning job")
    trial_stored, as_stored = config.training.to_dict(), config.to_dict()
    if team is not None:
        check_limits(team, trial_stored)
    row, created = repository.insert_tuning_job(
        db,
        {
            "name": config.tuning_job_name,
            "team": team.name if team is not None else None,
            "submitted_by": submitted_by,
            "config": as_stored,
            "input_uri": input_uri,
            "output_uri": output,
            "role_arn": settings.execution_role_arn,
            "image_uri": image,
            "objective_metric": config.objective_metric,
            "objective_type": config.objective_type,
        },
    )
    if not created and (row.config != as_stored or row.team != (team.name if team else None)):
        raise JobConflictError(
            f"the tuning job name {config.tuning_job_name} is taken by a different request: use another",
            field="tuning_job_name",
        )
    if created and team is not None:
        # Every trial may run to its ceiling: the tuning job holds all of them against the team's month.
        price = price_of(db, settings.region, config.training.instance_type)
        trial = price.ceiling(trial_stored) if price else None
        try:
            commit_ceiling(
                db, row.id, team, trial * config.total_jobs if trial is not None else None, "tuning_jobs"
            )
        except BudgetExceededError:
            repository.forget_tuning_job(db, row.id)
            db.commit()
            raise
        row = repository.get_tuning_job(db, row.id) or row
    db.commit()
    return row, created


def tuning_request_for(row: TuningRow, s3: Any, settings: Settings) -> dict[str, Any]:
    """``CreateHyperParameterTuningJob``'s request for a recorded tuning job, its dataset's channels read now."""
    config = TuningConfig.from_dict(row.config)
    trial = training_request(
        config.training,
        row.input_uri or "",
        row.output_uri or "",
        row.role_arn or settings.execution_role_arn,
        row.image_uri or settings.default_image_uri,
        None,
        s3,
        settings.dataset_wait_seconds,
    )
    return config.to_sagemaker_request(trial)


def send_pending_tuning_job(db: Database, tuning_id: int, sender: Sender) -> bool:
    """True if this call sent it; False if it had already left Pending. Paced with the training creates."""
    row = repository.get_tuning_job(db, tuning_id)
    if row is None:
        raise JobNotFoundError(f"no tuning job with id {tuning_id}", field="tuning_job_id")
    if row.status != JobStatus.PENDING:
        return False
    try:
        request = tuning_request_for(row, sender.s3, sender.settings)
        arn = create_with_backoff(
            sender.sagemaker,
            request,
            pacer=sender.pacer,
            timeout_seconds=sender.timeout_seconds,
            sleep=sender.sleep,
            call=CREATE_TUNING_JOB,
        )
    except RetryableSubmissionError:
        raise
    except (SageMakerConfigurationError, SageMakerJobError) as exc:
        status = JobStatus.REJECTED if isinstance(exc, SageMakerConfigurationError) else JobStatus.FAILED
        repository.finish_tuning_before_running(db, tuning_id, status, exc.message[:4000])
        repository.release_budget(db, tuning_id, "tuning_jobs")
        db.commit()
        raise
    sent = repository.mark_tuning_submitted(db, tuning_id, arn)
    db.commit()
    return sent


def _counts(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, Mapping):
        return None
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool)}


def state_change_from_tuning_description(detail: Mapping[str, Any]) -> TuningStateChange:
    """A "SageMaker HyperParameter Tuning Job State Change" event's detail (DescribeHyperParameterTuningJob's
    shape) as a state change; :class:`SageMakerConfigurationError` when it names no tuning job or status."""
    name, status = detail.get("HyperParameterTuningJobName"), detail.get("HyperParameterTuningJobStatus")
    if not isinstance(name, str) or not name or len(name) > 32:
        raise SageMakerConfigurationError(
            "the event names no tuning job", field="HyperParameterTuningJobName"
        )
    if status not in TUNING_STATUS_RANK or status in (JobStatus.PENDING, JobStatus.REJECTED):
        raise SageMakerConfigurationError(
            f"unknown tuning job status {status!r}", field="HyperParameterTuningJobStatus"
        )
    raw_best = detail.get("BestTrainingJob")
    best: Mapping[str, Any] = raw_best if isinstance(raw_best, Mapping) else {}
    objective = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    value = objective.get("Value") if isinstance(objective, Mapping) else None
    best_name = best.get("TrainingJobName")
    return TuningStateChange(
        name=name,
        status=str(status),
        failure_reason=str(detail["FailureReason"])[:4000] if detail.get("FailureReason") else None,
        sagemaker_arn=detail.get("HyperParameterTuningJobArn")
        if isinstance(detail.get("HyperParameterTuningJobArn"), str)
        else None,
        last_modified_at=parse_time(detail.get("LastModifiedTime")),
        ended_at=parse_time(detail.get("HyperParameterTuningEndTime")),
        training_counts=_counts(detail.get("TrainingJobStatusCounters")),
        objective_counts=_counts(detail.get("ObjectiveStatusCounters")),
        best_training_job=best_name if isinstance(best_name, str) and best_name else None,
        best_objective_value=float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else None,
    )


def record_tuning_state_change(db: Database, change: TuningStateChange) -> int | None:
    """Apply it once and in order (the caller commits); the tuning job's id when it moved. Trials that ended
    before they had its team are booked now; its end gives back what its trials did not draw, once."""
    moved = repository.apply_tuning_state_change(db, change)
    for trial_id in repository.finished_trials_unbooked(db, change.name):
        repository.release_budget(db, trial_id)
    if TUNING_STATUS_RANK.get(change.status, 0) >= TERMINAL_RANK:
        row = repository.get_tuning_job_by_name(db, change.name)
        if row is not None:
            repository.release_budget(db, row.id, "tuning_jobs")
    return moved


def _visible(db: Database, tuning_id: int, visible: Visible) -> TuningRow:
    row = repository.get_tuning_job(db, tuning_id)
    if row is None or (visible is not None and not visible(row.team)):
        raise JobNotFoundError(f"no tuning job with id {tuning_id}", field="tuning_job_id")
    return row


def tuning_to_dict(row: TuningRow) -> dict[str, Any]:
    config = row.config or {}
    return {
        "id": row.id,
        "tuning_job_name": row.name,
        "status": row.status,
        "failure_reason": row.failure_reason,
        "team": row.team,
        "submitted_by": row.submitted_by,
        "sagemaker_arn": row.sagemaker_arn,
        "strategy": config.get("strategy"),
        "objective_metric": row.objective_metric,
        "objective_type": row.objective_type,
        "max_jobs": TuningConfig.total_jobs_of(config) if config else None,
        "max_parallel_jobs": config.get("max_parallel_jobs"),
        "training_counts": row.training_counts or {},
        "objective_counts": row.objective_counts or {},
        "best_training_job": row.best_training_job,
        "best_objective_value": row.best_objective_value,
        "created_at": row.created_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }


def tuning_status(db: Database, tuning_id: int, visible: Visible = None) -> dict[str, Any]:
    """The tuning job and its trials, best first by the objective (trials without a value last)."""
    row = _visible(db, tuning_id, visible)
    trials = []
    for job, report in repository.trials_of(db, row.name):
        shown = job_to_dict(job, report)
        metrics = (report.final_metrics or {}) if report else {}
        value = metrics.get(row.objective_metric)
        trials.append({**shown, "objective_value": float(value) if isinstance(value, (int, float)) else None,
                       "hyperparameters": (job.config or {}).get("hyperparameters") or {}})  # fmt: skip
    sign = -1.0 if row.objective_type == "Maximize" else 1.0
    trials.sort(key=lambda t: (t["objective_value"] is None, sign * (t["objective_value"] or 0.0), t["id"]))
    result = tuning_to_dict(row)
    if result["best_training_job"] is None and trials and trials[0]["objective_value"] is not None:
        # SageMaker names the best only in its own reports: until then, the best trial Trainforge has seen.
        result["best_training_job"] = trials[0]["job_name"]
        result["best_objective_value"] = trials[0]["objective_value"]
    result["trials"] = trials
    return result


def tuning_page(
    db: Database, *, team: str | None, cursor: str | None, limit: int, name: str | None = None
) -> dict[str, Any]:
    rows, next_cursor = repository.list_tuning_jobs(db, team=team, cursor=cursor, limit=limit, name=name)
    return {"tuning_jobs": [tuning_to_dict(r) for r in rows], "next_cursor": next_cursor}


def cancel_tuning_job(db: Database, sagemaker: Any, tuning_id: int, visible: Visible = None) -> bool:
    """Stop it (SageMaker stops its trials); one never sent ends Stopped at once. False when it had ended."""
    row = _visible(db, tuning_id, visible)
    if row.status_rank >= TERMINAL_RANK:
        return False
    if row.status == JobStatus.PENDING:
        stopped = repository.finish_tuning_before_running(
            db, tuning_id, JobStatus.STOPPED, "cancelled before submission"
        )
        repository.release_budget(db, tuning_id, "tuning_jobs")
        db.commit()
        if stopped:
            return True
    try:
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=row.name)
    except Exception as exc:
        if error_code(exc) == "ValidationException":  # it ended meanwhile: its events say how
            return False
        raise SageMakerJobError(f"SageMaker refused to stop {row.name}: {error_message(exc)}") from exc
    repository.apply_tuning_state_change(db, TuningStateChange(name=row.name, status=JobStatus.STOPPING))
    db.commit()
    return True


def reconcile_tuning_jobs(
    db: Database, sagemaker: Any, request_submission: Callable[[int], None], limit: int = 50
) -> dict[str, int]:
    """Tuning jobs whose events went missing: Pending ones are requested again, running ones described and
    their answer applied as an event would be."""
    counts = {"tuning_described": 0, "tuning_changed": 0, "tuning_resubmitted": 0, "tuning_errors": 0}
    for row in repository.pending_tuning_jobs(db, limit):
        request_submission(row.id)
        counts["tuning_resubmitted"] += 1
    for row in repository.active_tuning_jobs(db, limit):
        try:
            described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=row.name)
            counts["tuning_described"] += 1
            moved = repository.apply_tuning_state_change(db, state_change_from_tuning_description(described))
            db.commit()
            counts["tuning_changed"] += int(moved is not None)
        except Exception:  # one tuning job's trouble does not stop the others; the next run tries again
            db.rollback()
            counts["tuning_errors"] += 1
    return counts
