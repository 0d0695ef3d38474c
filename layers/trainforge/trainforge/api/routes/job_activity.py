"""What a job is doing: its training logs and metric curves, read where SageMaker writes them (CloudWatch Logs and
CloudWatch metrics)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from trainforge.api.callers import caller_of
from trainforge.api.parameters import JobId
from trainforge.models import api
from trainforge.runtime import Runtime
from trainforge.tracking import queries as job_queries


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The job activity routes, served by ``runtime``'s database and CloudWatch."""
    router = Router()

    @router.get(
        "/jobs/<job_id>/logs",
        summary="A job's log lines across its instances, oldest first, by page (poll with next_token to follow)",
        tags=["jobs"],
        operation_id="getJobLogs",
        responses=api.responses(
            {200: (api.LogPage, "a page of log lines and the token to continue")}, 404, 502, 503
        ),
    )
    def job_logs(
        job_id: JobId,
        start_time: Annotated[datetime | None, Query(description="only lines written at or after")] = None,
        end_time: Annotated[datetime | None, Query(description="only lines written at or before")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next_token: Annotated[
            str | None,
            Query(
                max_length=4096, pattern=r"^[A-Za-z0-9_-]+$", description="next_token of the previous page"
            ),
        ] = None,
        instance: Annotated[
            str | None, Query(pattern=r"^algo-[1-9][0-9]{0,3}$", description="one instance's lines only")
        ] = None,
    ) -> api.LogPage:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.aws import client
        from trainforge.tracking.logs import job_logs as read_logs

        name = job_queries.job_name(runtime.database, job_id, caller_of(runtime, router).sees)
        page = read_logs(
            client("logs", runtime.settings.region),
            name,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
            next_token=next_token,
            instance=instance,
        )
        return api.LogPage.model_validate(page)

    @router.get(
        "/jobs/<job_id>/metrics",
        summary="A job's metric curves (each metric definition's values over time) and final values",
        tags=["jobs"],
        operation_id="getJobMetrics",
        responses=api.responses(
            {200: (api.JobMetrics, "every metric's series, oldest first")}, 404, 502, 503
        ),
    )
    def job_metrics(job_id: JobId) -> api.JobMetrics:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.aws import client
        from trainforge.tracking.metrics import job_metrics as read_metrics
        from trainforge.tracking.metrics import metric_steps

        window = job_queries.job_window(runtime.database, job_id, caller_of(runtime, router).sees)
        region = runtime.settings.region
        curves = read_metrics(
            client("cloudwatch", region),
            window["job_name"],
            started=window["started_at"],
            ended=window["ended_at"],
        )
        steps = metric_steps(client("logs", region), window["job_name"], window["metric_definitions"])
        return api.JobMetrics.model_validate(
            {**curves, "steps": steps, "final_metrics": window["final_metrics"]}
        )

    @router.get(
        "/jobs/<job_id>/artifacts",
        summary="What a finished job produced: its model and output archives, as download links",
        tags=["jobs"],
        operation_id="getJobArtifacts",
        responses=api.responses(
            {200: (api.JobArtifacts, "presigned links to what exists (null for what does not, yet)")},
            404,
            503,
        ),
    )
    def job_artifacts(job_id: JobId) -> api.JobArtifacts:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.aws import client
        from trainforge.tracking.artifacts import job_artifacts as artifacts_of

        found = artifacts_of(
            runtime.database, client("s3", runtime.settings.region), job_id, caller_of(runtime, router).sees
        )
        return api.JobArtifacts.model_validate(found)

    return router
