"""Sending one recorded job to SageMaker: its request resolved, its instances admitted (or it waits), the paced
create, and what SageMaker's answer makes of the job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trainforge import repository
from trainforge.capacity import admission as capacity
from trainforge.capacity.pacing import Pacer
from trainforge.connection import Database
from trainforge.errors import (
    InvalidJobConfigurationError,
    JobNotFoundError,
    RetryableSubmissionError,
    SageMakerConfigurationError,
    SageMakerJobError,
)
from trainforge.jobs.records import request_for
from trainforge.jobs.sagemaker_calls import InstanceCapacityError, create_with_backoff, stop_quietly
from trainforge.models.status import JobStatus
from trainforge.settings import Settings


@dataclass(frozen=True)
class Sender:
    """What sending a job (or a tuning job) takes: the deployment, its S3 and SageMaker, the account's pace of
    creates, and how long SageMaker's throttling is waited out."""

    settings: Settings
    s3: Any
    sagemaker: Any
    pacer: Pacer
    timeout_seconds: float
    sleep: Callable[[float], None]


def send_pending_job(db: Database, job_id: int, sender: Sender) -> bool:
    """True if this call sent the job; False if it had already left or it waits for capacity."""
    job = repository.get_job(db, job_id)
    if job is None:
        raise JobNotFoundError(f"no training job with id {job_id}", field="job_id")
    if job.status != JobStatus.PENDING:
        return False
    try:
        # The request first: a job whose dataset is still arriving must not hold instances meanwhile.
        request = request_for(job, sender.s3, sender.settings)
    except RetryableSubmissionError:
        db.rollback()
        raise
    except SageMakerConfigurationError as exc:
        # Refused for good (the dataset never completed, a channel it lacks): never sent, and why is kept.
        repository.finish_before_running(db, job_id, JobStatus.REJECTED, exc.message[:4000])
        db.commit()
        raise InvalidJobConfigurationError(exc.message, problems=exc.problems) from exc
    if job.capacity_held == 0:
        admission = capacity.admit(db, job, sender.settings.max_queue_seconds)
        db.commit()
        if admission.outcome in ("never", "no_wait"):
            raise SageMakerJobError(admission.detail or "no capacity for this job", field="instance_count")
        if admission.outcome != "admitted":
            return False
    try:
        arn = create_with_backoff(
            sender.sagemaker,
            request,
            pacer=sender.pacer,
            timeout_seconds=sender.timeout_seconds,
            sleep=sender.sleep,
        )
    except RetryableSubmissionError:
        db.rollback()
        raise
    except InstanceCapacityError as exc:
        if exc.refusal.never_fits(job.instance_count or 1):
            repository.finish_before_running(db, job_id, JobStatus.FAILED, exc.message)
            db.commit()
            raise
        # Others hold the instances Trainforge counted as free: wait again, and learn from the answer.
        capacity.requeue_after_refusal(db, job_id, exc.refusal)
        db.commit()
        return False
    except SageMakerJobError as exc:
        repository.finish_before_running(db, job_id, JobStatus.FAILED, exc.message)
        db.commit()
        raise
    # A stand-in SageMaker (local mode) says what it runs differently; real SageMaker has nothing to say.
    unemulated = getattr(sender.sagemaker, "unemulated", None)
    notes = list(unemulated(request)) if callable(unemulated) else []
    was_pending = repository.mark_submitted(db, job_id, arn, notes)
    db.commit()
    if not was_pending:
        latest = repository.get_job(db, job_id)
        if latest is not None and latest.status == JobStatus.STOPPED:
            # Cancelled while SageMaker was accepting it: the job must not run unseen.
            stop_quietly(sender.sagemaker, job.job_name)
    return True
