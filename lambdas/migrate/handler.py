"""A CloudFormation custom resource (through the CDK Provider framework): migrate the schema on deploy."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.runtime import Runtime, end_of_init
from trainforge.schema import upgrade_to_head

logger = Logger(service="trainforge")
RUNTIME = Runtime()
PHYSICAL_ID = "trainforge-schema"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("RequestType", "Create")
    if request == "Delete":
        # The schema belongs to the database's lifecycle, not the resource's: dropping data is never automatic.
        logger.info("delete: schema left in place")
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    revision = upgrade_to_head(RUNTIME.engine)
    # A revision newer than this code's head: a rolled-back deploy's; the expanded schema serves this code as it is.
    logger.info("schema migrated", revision=revision, request=request)
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Revision": revision}}


end_of_init()
