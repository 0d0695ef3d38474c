"""The submission queue: dataset manifests and job specs dropped in S3, and jobs requested through the API,
become SageMaker training jobs (one at a time, so CreateTrainingJob stays within SageMaker's rate)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.delivery import batch_response
from trainforge.runtime import Runtime, end_of_init
from trainforge.submissions.worker import SubmissionWorker

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="submissions")
RUNTIME = Runtime(clients=("s3", "sagemaker", "events"))
OUTCOME_METRICS = {
    "submitted": "JobsSubmitted",
    "waiting": "JobsWaitingForCapacity",
    "duplicate": "EventsIgnoredAsDuplicate",
    "rejected": "SubmissionsRejected",
    "ignored": "EventsIgnored",
    "failed": "SubmissionsFailed",
}


@cache
def worker() -> SubmissionWorker:
    """Built on the first event and kept with the container (its S3 client included)."""
    return SubmissionWorker(RUNTIME.settings, RUNTIME.training)


def submit(event: dict[str, Any]) -> str:
    outcomes = worker().handle(event, RUNTIME.database)
    for outcome in outcomes:
        logger.append_keys(job_id=outcome.job_id, job_name=outcome.job_name)
        metrics.add_metric(name=OUTCOME_METRICS[outcome.kind], unit=MetricUnit.Count, value=1)
        log = logger.warning if outcome.kind in ("rejected", "failed") else logger.info
        log(f"submission {outcome.kind}", detail=outcome.detail)
    return ",".join(o.kind for o in outcomes) or "nothing"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = batch_response(event, submit, RUNTIME.settings, logger.error)
    RUNTIME.publish_events()  # the batch's changes of status, on the bus right after their commit
    return response


end_of_init()
