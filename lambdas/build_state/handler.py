"""CodeBuild "Build State Change" events: the container build's status, phase, image and log link."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.builds.records import build_change_from_event, foreign_build, record_build_state_change
from trainforge.delivery import PoisonEventError, batch_response
from trainforge.errors import SageMakerConfigurationError
from trainforge.routing import CODEBUILD_STATE_CHANGE
from trainforge.runtime import Runtime, end_of_init

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="build_state")
RUNTIME = Runtime(clients=("events",))


def record(event: dict[str, Any]) -> str:
    if event.get("detail-type") != CODEBUILD_STATE_CHANGE:
        raise PoisonEventError(
            f"not a {CODEBUILD_STATE_CHANGE} event: detail-type {event.get('detail-type')!r}"
        )
    try:
        change = build_change_from_event(event)
    except SageMakerConfigurationError as exc:
        raise PoisonEventError(exc.message) from exc
    logger.append_keys(build_id=change.build_id)
    foreign = foreign_build(change, RUNTIME.settings.codebuild_project)
    if foreign:
        logger.warning("build event ignored", reason=foreign)
        metrics.add_metric(name="EventsIgnoredOtherProject", unit=MetricUnit.Count, value=1)
        return "ignored"
    moved = RUNTIME.transaction(lambda db: record_build_state_change(db, change))
    if not moved:
        metrics.add_metric(name="EventsIgnoredAsStale", unit=MetricUnit.Count, value=1)
        return "stale"
    metrics.add_metric(name=f"Builds{change.status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("build state applied", status=change.status, phase=change.current_phase)
    return "applied"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = batch_response(event, record, RUNTIME.settings, logger.error)
    RUNTIME.publish_events()  # the batch's changes of status, on the bus right after their commit
    return response


end_of_init()
