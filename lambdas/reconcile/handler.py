"""On a schedule: describe the jobs whose events went missing and apply what SageMaker says; then the capacity
sweep (quotas and prices refreshed when due, waits past their limit ended, waiting jobs admitted)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.aws import client
from trainforge.capacity.admission import sweep
from trainforge.capacity.prices import PRICE_LIST_REGION
from trainforge.runtime import Runtime, end_of_init
from trainforge.submissions.worker import request_submission
from trainforge.tracking.state_changes import reconcile_stale_jobs
from trainforge.tuning.jobs import reconcile_tuning_jobs

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="reconcile")
RUNTIME = Runtime(clients=("sagemaker", "events", "service-quotas"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = RUNTIME.settings
    counts = reconcile_stale_jobs(
        RUNTIME.database,
        RUNTIME.training,
        older_than_minutes=settings.reconcile_after_minutes,
        request_submission=lambda job_id: request_submission(settings, job_id),
    )
    counts.update(
        reconcile_tuning_jobs(
            RUNTIME.database,
            RUNTIME.training.sagemaker,
            request_submission=lambda tuning_id: request_submission(settings, tuning_id, tuning=True),
        )
    )
    capacity = sweep(
        RUNTIME.database,
        region=settings.region,
        default_max_queue=settings.max_queue_seconds,
        notify=lambda job_id: request_submission(settings, job_id),
        quotas_client=client("service-quotas", settings.region),
        pricing_client=client("pricing", PRICE_LIST_REGION),
    )
    for error in capacity.errors or []:
        logger.warning("capacity sweep: part not done", detail=error)
    counts.update({f"capacity_{name}": value for name, value in capacity.counts().items()})
    for name, value in counts.items():
        metrics.add_metric(
            name=f"Reconcile{name.title().replace('_', '')}", unit=MetricUnit.Count, value=value
        )
    # the fallback for events a handler committed but did not publish (it died, or EventBridge refused)
    counts["events_published"] = RUNTIME.publish_events()
    logger.info("reconciliation done", extra=counts)
    return counts


end_of_init()
