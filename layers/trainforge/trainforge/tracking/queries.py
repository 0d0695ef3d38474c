"""Reading jobs back: one job with its report and history, or a page of them, as the API and the contract show
them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from trainforge import repository
from trainforge.connection import Database
from trainforge.repository import MAX_ID, MAX_PAGE_SIZE

__all__ = ["MAX_ID", "MAX_PAGE_SIZE", "job_status", "job_to_dict", "jobs_page", "report_to_dict"]
from trainforge.capacity.price_table import cost_ceiling_usd
from trainforge.errors import JobNotFoundError, Problem, SageMakerConfigurationError
from trainforge.models.rows import HistoryRow, JobRow, ReportRow
from trainforge.models.status import JOB_STATUS_RANK, JobStatus

# Whether the caller may see a job of this team (trainforge.teams.access.Caller.sees); None: anyone.
Visible = Callable[[str | None], bool] | None


def _job(db: Database, job_id: int, visible: Visible) -> JobRow:
    """The job; not found as well when ``visible`` says it is another team's (ids reveal nothing)."""
    job = repository.get_job(db, job_id)
    if job is None or (visible is not None and not visible(job.team)):
        raise JobNotFoundError(f"no training job with id {job_id}", field="job_id")
    return job


def job_by_id(db: Database, job_id: int, visible: Visible = None) -> JobRow:
    """The job, when the caller may see it (:class:`JobNotFoundError` otherwise)."""
    return _job(db, job_id, visible)


def job_status(db: Database, job_id: int, visible: Visible = None) -> dict[str, Any]:
    """Get status of SageMaker training job (with its report and status history)."""
    job = _job(db, job_id, visible)
    result = job_to_dict(job, repository.report_of(db, job.id))
    history = repository.history_of(db, job.id)
    result["history"] = [
        {
            "status": h.status,
            "secondary_status": h.secondary_status or None,
            "at": _iso(h.at),
            "detail": h.detail,
            "attempt": h.attempt,
        }
        for h in history
    ]
    if job.status == JobStatus.WAITING_FOR_CAPACITY and job.capacity_pool:
        deadline = (
            job.waiting_since + timedelta(seconds=job.max_queue_seconds)
            if job.waiting_since and job.max_queue_seconds is not None
            else None
        )
        result["queue"] = {
            "pool": job.capacity_pool,
            "position": repository.queue_position(db, job.id),
            "waiting_since": _iso(job.waiting_since),
            "deadline": _iso(deadline),
        }
    result["progress"] = progress_of(job, history)
    return result


def progress_of(job: JobRow, history: list[HistoryRow]) -> dict[str, Any]:
    """How far a job got: the last step it reached while running, and how long it trained (from the start of
    its Training step to the next step, or to its end)."""
    running = [h for h in history if h.status == "InProgress" and h.secondary_status]
    training = next((h for h in running if h.secondary_status == "Training"), None)
    trained = None
    if training is not None:
        after = [h.at for h in history if h.at > training.at]
        until = min(after) if after else job.ended_at
        if until is not None:
            trained = max(int((until - training.at).total_seconds()), 0)
    return {"furthest_step": running[-1].secondary_status if running else None, "trained_seconds": trained}


def job_name(db: Database, job_id: int, visible: Visible = None) -> str:
    """The SageMaker name of the job with this id."""
    return _job(db, job_id, visible).job_name


def job_window(db: Database, job_id: int, visible: Visible = None) -> dict[str, Any]:
    """A job's name, when it started and ended, and its final metrics: where to look for its curves."""
    job = _job(db, job_id, visible)
    report = repository.report_of(db, job_id)
    return {
        "job_name": job.job_name,
        "started_at": job.started_at or job.created_at,
        "ended_at": job.ended_at,
        "final_metrics": dict(report.final_metrics or {}) if report else {},
        "metric_definitions": list((job.config or {}).get("metric_definitions") or []),
    }


def jobs_page(
    db: Database,
    *,
    status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    job_name: str | None = None,
    team: str | None = None,
) -> dict[str, Any]:
    problems = []
    if status is not None and status not in JOB_STATUS_RANK:
        problems.append(Problem("status", f"must be one of {', '.join(JOB_STATUS_RANK)}"))
    for name, moment in (("created_after", created_after), ("created_before", created_before)):
        if moment is not None and not _in_utc_range(moment):
            problems.append(Problem(name, "must be a time between years 1 and 9999 in UTC"))
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "job listing")
    rows, next_cursor = repository.list_jobs(
        db,
        repository.JobFilters(
            status=status,
            created_after=created_after,
            created_before=created_before,
            job_name=job_name,
            team=team,
        ),
        cursor=cursor,
        limit=limit,
    )
    return {"jobs": [job_to_dict(job, report) for job, report in rows], "next_cursor": next_cursor}


def _in_utc_range(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return True


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat()


def report_to_dict(report: ReportRow | None, job: JobRow | None = None) -> dict[str, Any] | None:
    if report is None:
        return None
    result: dict[str, Any] = {
        "final_metrics": dict(report.final_metrics or {}),
        "model_artifacts_uri": report.model_artifacts_uri,
        "billable_seconds": report.billable_seconds,
        "training_seconds": report.training_seconds,
        "estimated_cost_usd": _dollars(report.estimated_cost_usd),
    }
    spot = job is not None and bool((job.config or {}).get("use_spot_instances"))
    if (
        spot
        and job is not None
        and job.price_per_hour_usd is not None
        and report.training_seconds is not None
    ):
        # Spot bills fewer seconds than it trains: the same training on demand, and what spot saved.
        equivalent = (
            job.price_per_hour_usd * report.training_seconds * (job.instance_count or 1) / Decimal(3600)
        ).quantize(Decimal("0.0001"))
        result["on_demand_equivalent_usd"] = float(equivalent)
        if report.estimated_cost_usd is not None:
            result["spot_saving_usd"] = float(equivalent - report.estimated_cost_usd)
    return result


def job_to_dict(job: JobRow, report: ReportRow | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_name": job.job_name,
        "status": job.status,
        "secondary_status": job.secondary_status,
        "failure_reason": job.failure_reason,
        "origin": job.origin,
        "environment": job.environment,  # NOT NULL, "sagemaker" by default
        "instance_type": job.instance_type,
        "instance_count": job.instance_count,
        "image_uri": job.image_uri,
        "input_uri": job.input_uri,
        "output_uri": job.output_uri,
        "sagemaker_arn": job.sagemaker_arn,
        "notes": list(job.notes or []),
        "log_tail": list(job.log_tail) if job.log_tail is not None else None,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "started_at": _iso(job.started_at),
        "ended_at": _iso(job.ended_at),
        "report": report_to_dict(report, job),
        "cost_ceiling_usd": _dollars(
            job.cost_ceiling_usd if job.cost_ceiling_usd is not None else cost_ceiling_usd(job.config)
        ),
        "price": {"usd_per_hour": float(job.price_per_hour_usd), "source": job.price_source or ""}
        if job.price_per_hour_usd is not None
        else None,
        "priority": job.priority,
        "warm_pool": dict(job.warm_pool) if job.warm_pool is not None else None,
        "team": job.team,
        "submitted_by": job.submitted_by,
    }


def _dollars(amount: Decimal | None) -> float | None:
    return float(amount) if amount is not None else None
