"""Capacity: the instance pools and their waiting lines."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router

from trainforge.api.callers import caller_of
from trainforge.capacity.pools import pools_view
from trainforge.models import api
from trainforge.runtime import Runtime


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The capacity routes, served by ``runtime``'s database."""
    router = Router()

    @router.get(
        "/pools",
        summary="Instance pools: quota, instances in use, and the waiting jobs in line order",
        tags=["capacity"],
        operation_id="listPools",
        responses=api.responses(
            {
                200: (
                    api.PoolList,
                    "every pool; a member sees its own team's waiting jobs and every team's count",
                )
            },
            503,
        ),
    )
    def list_pools() -> api.PoolList:
        caller = caller_of(runtime, router)
        return api.PoolList.model_validate(pools_view(runtime.database, caller.scope()))

    return router
