"""Following training jobs: SageMaker's descriptions (from events or ``DescribeTrainingJob``) become state
changes, applied once and in order, with the report written on a terminal status."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from trainforge import repository
from trainforge.account.execution_roles import TRAINFORGE_TAG
from trainforge.capacity.admission import pool_of
from trainforge.capacity.price_table import TRAINING_PRICE_PER_HOUR_USD
from trainforge.connection import Database
from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.inputs import storable
from trainforge.models.changes import ApplyOutcome, JobStateChange, parse_time
from trainforge.models.sagemaker_limits import JOB_NAME_PATTERN
from trainforge.models.status import SAGEMAKER_JOB_STATUSES, TERMINAL_JOB_STATUSES, JobStatus

Describe = Callable[[str], Mapping[str, Any] | None]


def _mapping(value: Any) -> Mapping[str, Any]:
    """Events come from outside: a part that is not an object is treated as absent."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int = 4096) -> str | None:
    """AWS's words are facts to keep: made storable, never refused."""
    if value is None:
        return None
    return storable(str(value))[:limit]


def _metrics(raw: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    if not isinstance(raw, list):
        return found
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        name, value = item.get("MetricName"), item.get("Value")
        if isinstance(name, str) and isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = float(value)
    return found


def state_change_from_description(description: Mapping[str, Any]) -> JobStateChange:
    """A ``DescribeTrainingJob`` response or a state-change event's ``detail`` as a :class:`JobStateChange`.

    Raises :class:`SageMakerConfigurationError` naming the field when the description cannot be trusted.
    """
    problems: list[Problem] = []
    name = description.get("TrainingJobName")
    if not isinstance(name, str) or not JOB_NAME_PATTERN.fullmatch(name):
        problems.append(Problem("detail.TrainingJobName", "is missing or not a valid training job name"))
    status = description.get("TrainingJobStatus")
    if not isinstance(status, str) or status not in SAGEMAKER_JOB_STATUSES:
        problems.append(
            Problem("detail.TrainingJobStatus", f"must be one of {sorted(SAGEMAKER_JOB_STATUSES)}")
        )
    times: dict[str, datetime | None] = {}
    for key in ("LastModifiedTime", "CreationTime", "TrainingStartTime", "TrainingEndTime"):
        try:
            times[key] = parse_time(description.get(key))
        except (ValueError, OverflowError, OSError):
            problems.append(Problem(f"detail.{key}", "must be epoch milliseconds or an ISO 8601 time"))
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "training state change")

    resources = _mapping(description.get("ResourceConfig"))
    algorithm = _mapping(description.get("AlgorithmSpecification"))
    output = _mapping(description.get("OutputDataConfig"))
    artifacts = _mapping(description.get("ModelArtifacts"))
    channels = description.get("InputDataConfig")
    first_channel = _mapping(channels[0]) if isinstance(channels, list) and channels else {}
    input_uri = _mapping(_mapping(first_channel.get("DataSource")).get("S3DataSource")).get("S3Uri")
    billable = description.get("BillableTimeInSeconds")
    count = resources.get("InstanceCount")
    return JobStateChange(
        job_name=str(name),
        status=str(status),
        secondary_status=_text(description.get("SecondaryStatus"), 64),
        failure_reason=_text(description.get("FailureReason")),
        last_modified_at=times["LastModifiedTime"],
        created_at=times["CreationTime"],
        started_at=times["TrainingStartTime"],
        ended_at=times["TrainingEndTime"],
        sagemaker_arn=_text(description.get("TrainingJobArn"), 2048),
        instance_type=_text(resources.get("InstanceType"), 32),
        instance_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        spot=description.get("EnableManagedSpotTraining") is True,
        role_arn=_text(description.get("RoleArn"), 2048),
        image_uri=_text(algorithm.get("TrainingImage")),
        input_uri=_text(input_uri),
        output_uri=_text(output.get("S3OutputPath")),
        final_metrics=_metrics(description.get("FinalMetricDataList")),
        model_artifacts_uri=_text(artifacts.get("S3ModelArtifacts"))
        if isinstance(artifacts, Mapping)
        else None,
        billable_seconds=billable if isinstance(billable, int) and not isinstance(billable, bool) else None,
        warm_pool=_warm_pool(description.get("WarmPoolStatus")),
        tuning_job_name=_tuning_job_name(description.get("TuningJobArn")),
        attempt=attempt_of(description),
        hyperparameters=_hyperparameters(description.get("HyperParameters")),
        managed=_tagged_by_trainforge(description.get("Tags")),
    )


def _tagged_by_trainforge(tags: Any) -> bool:
    """Events carry Tags as a flat map (a list of Key/Value pairs, as the API writes them, is read too)."""
    if isinstance(tags, list):
        tags = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, Mapping)}
    return isinstance(tags, Mapping) and tags.get(TRAINFORGE_TAG) == "true"


def _tuning_job_name(arn: Any) -> str | None:
    """``arn:aws:sagemaker:<region>:<account>:hyper-parameter-tuning-job/<name>`` → the name (lowercase)."""
    if not isinstance(arn, str) or ":hyper-parameter-tuning-job/" not in arn:
        return None
    name = arn.rsplit("/", 1)[1]
    return name if 1 <= len(name) <= 32 else None


def _hyperparameters(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, Mapping):
        return None
    return {storable(str(k))[:256]: storable(str(v))[:2500] for k, v in list(raw.items())[:100]}


def _warm_pool(raw: Any) -> dict[str, Any] | None:
    """SageMaker's WarmPoolStatus, its known parts only (a malformed one reads as absent)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("Status"), str):
        return None
    kept = raw.get("ResourceRetainedBillableTimeInSeconds")
    reused = raw.get("ReusedByJob")
    return {
        "status": _text(raw["Status"], 32),
        "retained_billable_seconds": kept if isinstance(kept, int) and not isinstance(kept, bool) else None,
        "reused_by_job": _text(reused, 63) if isinstance(reused, str) else None,
    }


def complete_terminal_change(change: JobStateChange, describe: Describe | None) -> JobStateChange:
    """Events do not promise metrics, artifacts or billable time: on a terminal status ask SageMaker, and keep
    what the event said for anything the description lacks (or when SageMaker does not answer)."""
    if change.status not in TERMINAL_JOB_STATUSES or describe is None:
        return change
    try:
        description = describe(change.job_name)
    except Exception:
        return change
    if not description or description.get("TrainingJobName") != change.job_name:
        return change
    try:
        described = state_change_from_description(description)
    except SageMakerConfigurationError:
        return change
    if described.status != change.status:
        return change
    return replace(
        change,
        final_metrics=described.final_metrics or change.final_metrics,
        model_artifacts_uri=described.model_artifacts_uri or change.model_artifacts_uri,
        billable_seconds=described.billable_seconds
        if described.billable_seconds is not None
        else change.billable_seconds,
        started_at=change.started_at or described.started_at,
        ended_at=change.ended_at or described.ended_at,
        instance_type=change.instance_type or described.instance_type,
        instance_count=change.instance_count or described.instance_count,
    )


def record_state_change(
    db: Database,
    change: JobStateChange,
    *,
    record_external: bool,
    describe: Describe | None = None,
    region: str | None = None,
) -> ApplyOutcome:
    """Apply one SageMaker state to the job's row, history and report (the caller commits). A terminal state's
    cost is priced in the statement: by the job's own price, the region's price list, else the bundled table."""
    change = complete_terminal_change(change, describe)
    bundled = TRAINING_PRICE_PER_HOUR_USD.get(change.instance_type or "")
    # A job first heard of running (a trial, or one started outside Trainforge) counts in its pool's instances.
    pool = pool_of(change.instance_type, change.spot) if change.instance_type else None
    outcome = repository.apply_job_state_change(
        db, change, record_external=record_external, region=region, bundled_price=bundled, pool=pool
    )
    if change.warm_pool is not None and outcome.job_id is not None:
        # Its own guard (the newest report wins): warm pool reports follow the end, which they never move.
        repository.set_warm_pool(db, outcome.job_id, change.warm_pool, change.last_modified_at)
    if change.tuning_job_name is not None and outcome.job_id is not None:
        repository.link_trial(db, outcome.job_id, change.tuning_job_name, change.hyperparameters or {})
    return outcome


# SageMaker's secondary statuses, and the status each belongs to (DescribeTrainingJob's SecondaryStatus).
STATUS_OF_SECONDARY = {
    "Stopping": JobStatus.STOPPING, "Stopped": JobStatus.STOPPED, "MaxRuntimeExceeded": JobStatus.STOPPED,
    "MaxWaitTimeExceeded": JobStatus.STOPPED, "Interrupted": JobStatus.STOPPED, "Completed": JobStatus.COMPLETED,
    "Failed": JobStatus.FAILED,
}  # fmt: skip


def transitions_of(description: Mapping[str, Any]) -> list[tuple[str, str, datetime, int]]:
    """``SecondaryStatusTransitions`` as history rows (status, secondary status, when it began, attempt); entries
    without a usable name or time are skipped. SageMaker retries a job (its RetryStrategy) by starting it again:
    each ``Starting`` after the first begins the next attempt."""
    found: list[tuple[str, str, datetime, int]] = []
    attempt = 0
    entries = [e for e in description.get("SecondaryStatusTransitions") or [] if isinstance(e, Mapping)]
    for index, entry in enumerate(entries):
        secondary, at = entry.get("Status"), parse_time(entry.get("StartTime"))
        if secondary == "Starting":
            attempt += 1
        if isinstance(secondary, str) and secondary and len(secondary) <= 64 and at is not None:
            status = STATUS_OF_SECONDARY.get(secondary, JobStatus.IN_PROGRESS)
            if secondary == "Interrupted" and index < len(entries) - 1:
                status = JobStatus.IN_PROGRESS  # a spot interruption the job restarted after, not its end
            found.append((status, secondary, at, max(attempt, 1)))
    return found


def attempt_of(description: Mapping[str, Any]) -> int:
    """Which attempt the job is in: 1, or more once SageMaker has retried it."""
    transitions = description.get("SecondaryStatusTransitions")
    if not isinstance(transitions, list):
        return 1
    starts = sum(1 for t in transitions if isinstance(t, Mapping) and t.get("Status") == "Starting")
    return min(max(starts, 1), 31)  # at most 30 retries: the first attempt and 30 more


def answer_with(description: Mapping[str, Any]) -> Describe:
    """A describe function that answers with a description already in hand (no second call)."""

    def describe(_job_name: str) -> Mapping[str, Any]:
        return description

    return describe


def reconcile_stale_jobs(
    db: Database,
    service: Any,
    *,
    older_than_minutes: float,
    request_submission: Callable[[int], None],
    limit: int = 100,
) -> dict[str, int]:
    """Heal missed events: describe every unfinished job that has been silent too long and apply the answer
    through the same path as an event; ask again for the submission of jobs stuck in Pending."""
    counts = {"described": 0, "changed": 0, "unknown": 0, "resubmitted": 0, "errors": 0}
    stale = repository.jobs_to_reconcile(db, older_than_minutes, limit)
    for job in stale:
        try:
            if job.status == "Pending":
                request_submission(job.id)
                counts["resubmitted"] += 1
                continue
            description = service.describe(job.job_name)
            counts["described"] += 1
            if description is None:
                counts["unknown"] += 1
                continue
            outcome = record_state_change(
                db,
                state_change_from_description(description),
                record_external=False,
                describe=answer_with(description),
                region=getattr(getattr(service, "settings", None), "region", None),
            )
            # The events that went missing carried the steps between: SageMaker lists them, with their times.
            if outcome.job_id is not None:
                repository.record_transitions(db, outcome.job_id, transitions_of(description))
            db.commit()
            counts["changed"] += int(outcome.applied)
        except Exception:
            counts["errors"] += 1
    return counts
