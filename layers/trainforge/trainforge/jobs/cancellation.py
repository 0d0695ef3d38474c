"""Cancelling a job: before it left (never sent), while it runs (StopTrainingJob), or not at all once it ended."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from trainforge import repository
from trainforge.aws import error_code, error_message
from trainforge.connection import Database
from trainforge.errors import JobNotFoundError, SageMakerJobError
from trainforge.models.changes import JobStateChange
from trainforge.models.status import BEFORE_SAGEMAKER, TERMINAL_RANK, JobStatus
from trainforge.teams.budgets import release_job


class JobControl(Protocol):
    """What cancelling needs of the service: SageMaker, a describe, and the path events take."""

    @property
    def sagemaker(self) -> Any: ...

    def describe(self, job_name: str) -> dict[str, Any] | None: ...

    def apply_description(self, db: Database, description: dict[str, Any]) -> None: ...


def cancel_job(
    service: JobControl, job_id: int, db: Database, visible: Callable[[str | None], bool] | None = None
) -> bool:
    """Cancel SageMaker training job. True if a stop was requested or the job never left; False (job
    untouched) if it had already finished. ``visible``: whether the caller may see a job of that team (not: the
    same not-found as a missing id)."""
    job = repository.get_job(db, job_id)
    if job is None or (visible is not None and not visible(job.team)):
        raise JobNotFoundError(f"no training job with id {job_id}", field="job_id")
    if job.status_rank >= TERMINAL_RANK:
        return False
    if job.status in BEFORE_SAGEMAKER:
        # SageMaker never hears of it; an admitted job's instances go back to its pool in the same statement.
        reason = (
            "cancelled while waiting for capacity"
            if job.status == JobStatus.WAITING_FOR_CAPACITY
            else "cancelled before submission"
        )
        changed = repository.finish_before_running(db, job_id, JobStatus.STOPPED, reason)
        db.commit()
        if changed:
            # Its team's budget commitment and instances come back now rather than at the sweep.
            release_job(db, job_id)
            db.commit()
            return True
        current = repository.get_job(db, job_id)  # it left Pending meanwhile: cancel what it became
        return cancel_job(service, job_id, db) if current and current.status_rank < TERMINAL_RANK else False
    if job.status == JobStatus.STOPPING:
        return True
    description = service.describe(job.job_name)
    if description is not None and description.get("TrainingJobStatus") in (
        "Completed",
        "Failed",
        "Stopped",
    ):
        service.apply_description(db, description)
        db.commit()
        return False
    try:
        service.sagemaker.stop_training_job(TrainingJobName=job.job_name)
    except Exception as exc:
        code = error_code(exc)
        if code == "ValidationException":  # it finished between the describe and the stop
            latest = service.describe(job.job_name)
            if latest is not None:
                service.apply_description(db, latest)
                db.commit()
            return False
        raise SageMakerJobError(
            f"SageMaker could not stop {job.job_name}: {code or type(exc).__name__}: {error_message(exc)}"
        ) from exc
    repository.apply_job_state_change(
        db,
        JobStateChange(job_name=job.job_name, status=JobStatus.STOPPING, secondary_status="Stopping"),
        record_external=False,
    )
    db.commit()
    return True
