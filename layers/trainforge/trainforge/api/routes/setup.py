"""Setup: liveness, the account's configuration, execution roles."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from trainforge import __version__
from trainforge.account.health import database_answers
from trainforge.api.callers import caller_of
from trainforge.models import api
from trainforge.runtime import Runtime


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The setup routes, served by ``runtime``'s settings, database and services."""
    router = Router()

    @router.get(
        "/health",
        summary="Liveness, with a database round trip",
        tags=["setup"],
        operation_id="getHealth",
        responses=api.responses({200: (api.Health, "alive; `database` says whether PostgreSQL answered")}),
    )
    def health() -> api.Health:
        database = database_answers(lambda: runtime.database)
        if not database:
            logger.warning("database unreachable")
        return api.Health(status="ok" if database else "degraded", database=database, version=__version__)

    @router.get(
        "/config/validation",
        summary="Check credentials, role, buckets, repository and quotas",
        tags=["setup"],
        operation_id="validateConfiguration",
        responses=api.responses(
            {200: (api.ConfigurationReport, "every check, failures with their fix")}, 503
        ),
    )
    def validate_configuration() -> api.ConfigurationReport:
        caller_of(runtime, router)  # a team's member or an administrator
        return api.ConfigurationReport.model_validate(runtime.training.validate_configuration())

    @router.post(
        "/roles",
        summary="Create (or update) a SageMaker execution role that Trainforge owns",
        tags=["setup"],
        operation_id="createExecutionRole",
        responses=api.responses({201: (api.RoleResponse, "the role's ARN")}, 400, 409, 413, 415, 502, 503),
    )
    def create_role(request: api.RoleRequest) -> Response[api.RoleResponse]:
        caller_of(runtime, router).require_admin("create execution roles")
        arn = runtime.training.create_execution_role(request.role_name)
        return Response(HTTPStatus.CREATED, "application/json", api.RoleResponse(role_arn=arn))

    return router
