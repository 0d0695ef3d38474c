"""The REST API's Lambda entry point: the door, then the resolver built from the resource routers
(``trainforge.api``)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.api.app import build_api
from trainforge.api.door import check_at_the_door
from trainforge.api.errors import Refusal
from trainforge.runtime import Runtime, end_of_init

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="api")
RUNTIME = Runtime(clients=("s3", "sagemaker", "events"))
READS = frozenset({"GET", "HEAD", "OPTIONS"})  # they change no status: nothing for the relay to publish
app = build_api(RUNTIME, logger, metrics)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        principal = check_at_the_door(
            event,
            app,
            allow_unauthenticated=RUNTIME.settings.allow_unauthenticated,
            honour_principal_header=RUNTIME.settings.mode == "local",
        )
    except Refusal as refusal:
        return refusal.as_proxy_response()
    if principal:
        logger.append_keys(principal=principal)
    # The routes resolve the principal's team on first need (trainforge.api.callers).
    app.context["principal"] = principal
    response = app.resolve(event, context)
    if event.get("httpMethod") not in READS:
        RUNTIME.publish_events()
    return response


end_of_init()
