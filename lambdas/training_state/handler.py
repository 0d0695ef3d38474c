"""SageMaker "Training Job State Change" events: the job row, its status history and, when it ends, its report;
and "HyperParameter Tuning Job State Change" events: the tuning job's state, counts and best trial."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.delivery import PoisonEventError, batch_response
from trainforge.errors import SageMakerConfigurationError
from trainforge.models.status import JobStatus
from trainforge.routing import SAGEMAKER_STATE_CHANGE, TUNING_STATE_CHANGE
from trainforge.runtime import Runtime, end_of_init
from trainforge.tracking.state_changes import record_state_change, state_change_from_description

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="training_state")
RUNTIME = Runtime(clients=("sagemaker", "events"))

TERMINAL_METRICS: dict[str, str] = {
    JobStatus.COMPLETED: "JobsCompleted",
    JobStatus.FAILED: "JobsFailed",
    JobStatus.STOPPED: "JobsStopped",
}


def record(event: dict[str, Any]) -> str:
    if event.get("detail-type") == TUNING_STATE_CHANGE and isinstance(event.get("detail"), dict):
        return record_tuning(event["detail"])
    if event.get("detail-type") != SAGEMAKER_STATE_CHANGE or not isinstance(event.get("detail"), dict):
        raise PoisonEventError(
            f"not a {SAGEMAKER_STATE_CHANGE} event: detail-type {event.get('detail-type')!r}"
        )
    try:
        change = state_change_from_description(event["detail"])
    except SageMakerConfigurationError as exc:
        raise PoisonEventError(exc.message) from exc
    logger.append_keys(job_name=change.job_name)
    settings = RUNTIME.settings

    def apply(db: Any) -> Any:
        return record_state_change(
            db,
            change,
            record_external=settings.record_external_jobs,
            describe=RUNTIME.training.describe,
            region=settings.region,
        )

    outcome = RUNTIME.transaction(apply)
    logger.append_keys(job_id=outcome.job_id)
    if change.status in TERMINAL_METRICS and outcome.job_id is not None:
        # Before the stale check: a redelivery must still release what an interrupted first delivery did not.
        admit_waiting_jobs(outcome.job_id)
    if not outcome.applied:
        metrics.add_metric(name="EventsIgnoredAsStale", unit=MetricUnit.Count, value=1)
        logger.info("state change already applied or older than the job's state", status=change.status)
        return "stale"
    if change.status in TERMINAL_METRICS:
        metrics.add_metric(name=TERMINAL_METRICS[change.status], unit=MetricUnit.Count, value=1)
        if outcome.job_id is not None:
            publish_spend(outcome.job_id)
    if change.status == JobStatus.FAILED and outcome.job_id is not None:
        keep_log_tail(outcome.job_id, change.job_name)
    logger.info("state change applied", status=change.status, secondary_status=change.secondary_status)
    return "applied"


def record_tuning(detail: dict[str, Any]) -> str:
    """A tuning job's state, counts and best trial, applied once and in order."""
    # only some events need it: a cold start for the others does not load it
    from trainforge.tuning.jobs import (
        record_tuning_state_change,
        state_change_from_tuning_description,
    )

    try:
        change = state_change_from_tuning_description(detail)
    except SageMakerConfigurationError as exc:
        raise PoisonEventError(exc.message) from exc
    logger.append_keys(tuning_job_name=change.name)
    moved = RUNTIME.transaction(lambda db: record_tuning_state_change(db, change))
    if moved is None:
        metrics.add_metric(name="EventsIgnoredAsStale", unit=MetricUnit.Count, value=1)
        return "stale"
    logger.info("tuning state change applied", status=change.status, best=change.best_training_job)
    return "applied"


def admit_waiting_jobs(job_id: int) -> None:
    """The job's instances go back to its pool (once), and the jobs waiting for them are admitted and their
    submission requested. A failure here leaves them to the schedule's sweep: the state change stands."""
    # only some events need it: a cold start for the others does not load it
    from trainforge.capacity.admission import release_and_admit
    from trainforge.submissions.worker import request_submission

    settings = RUNTIME.settings
    try:
        admitted = RUNTIME.transaction(
            lambda db: release_and_admit(
                db, job_id, lambda admitted_id: request_submission(settings, admitted_id)
            )
        )
    except Exception:
        logger.exception("waiting jobs not admitted; the schedule's sweep will")
        return
    if admitted:
        metrics.add_metric(name="JobsAdmitted", unit=MetricUnit.Count, value=len(admitted))
        logger.info("waiting jobs admitted", admitted=admitted)


def publish_spend(job_id: int) -> None:
    """A finished team job's cost on the SpendUsd metric, by team (the dashboard's spend per team). Only for a
    change just applied, so a redelivery does not count it twice; the metric never fails the change."""
    # only some events need it: a cold start for the others does not load it
    from trainforge.tracking.spend import team_spend

    try:
        spent = RUNTIME.transaction(lambda db: team_spend(db, job_id))
    except Exception:
        logger.exception("the job's spend was not published; the ledger has it")
        return
    if spent is not None:
        team, usd = spent
        defaults = {"service": "training_state"}
        with single_metric(name="SpendUsd", unit=MetricUnit.NoUnit, value=usd, namespace="Trainforge",
                           default_dimensions=defaults) as metric:  # fmt: skip
            metric.add_dimension(name="team", value=team)


def keep_log_tail(job_id: int, job_name: str) -> None:
    """A failed job keeps its last log lines (its traceback). Reading them never fails the state change: it is
    already applied, and the logs stay in CloudWatch."""
    # only some events need it: a cold start for the others does not load it
    from trainforge.aws import client
    from trainforge.tracking.logs import keep_failure_tail

    try:
        lines = RUNTIME.transaction(
            lambda db: keep_failure_tail(db, client("logs", RUNTIME.settings.region), job_id, job_name)
        )
    except Exception:
        logger.exception("the failed job's log lines could not be kept")
        return
    logger.info("failed job's log tail kept", lines=len(lines))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = batch_response(event, record, RUNTIME.settings, logger.error)
    RUNTIME.publish_events()  # the batch's changes of status, on the bus right after their commit
    return response


end_of_init()
