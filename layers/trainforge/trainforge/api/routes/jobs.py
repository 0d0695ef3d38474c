"""Jobs: submit (queued), list, status, cancel. What only submitting needs is imported by that route, on its
first call: a cold start for a status or a listing does not load the submission path."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.metrics import MetricUnit

from trainforge.api.callers import caller_of, submission_team
from trainforge.api.parameters import Cursor, JobId, Limit
from trainforge.inputs import IDEMPOTENCY_KEY_PATTERN
from trainforge.jobs import cancellation
from trainforge.models import api
from trainforge.models.status import JOB_STATUS_RANK
from trainforge.runtime import Runtime
from trainforge.tracking import queries as job_queries

if TYPE_CHECKING:
    from trainforge.job_settings.training_config import TrainingConfig


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The jobs routes, served by ``runtime``'s settings, database and services."""
    router = Router()

    def training_config(request: api.JobRequest) -> TrainingConfig:
        """A job request's training settings, with the deployment's default instance type."""
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.job_settings.training_config import TrainingConfig

        fields = request.model_dump(
            exclude_none=True,
            exclude={"dataset_uri", "output_uri", "image_uri", "team", "reuse_warm_pool_of"},
        )
        stated = set(fields)
        fields.setdefault("instance_type", runtime.settings.default_instance_type)
        config = TrainingConfig.from_dict(fields)
        if request.reuse_warm_pool_of is None:
            return config
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.jobs.warm_pools import for_warm_pool

        sees = caller_of(runtime, router).sees
        return for_warm_pool(runtime.database, config, request.reuse_warm_pool_of, stated, sees)

    @router.post(
        "/jobs",
        summary="Submit a training job (queued; SageMaker accepts about one a second)",
        tags=["jobs"],
        operation_id="submitJob",
        responses=api.responses(
            {
                202: (api.JobStatus, "recorded and queued for submission"),
                200: (api.JobStatus, "the same request (job name or Idempotency-Key) again: the first job"),
            },
            400,
            409,
            413,
            415,
            503,
        ),
    )
    def submit_job(
        request: api.JobRequest,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                pattern=IDEMPOTENCY_KEY_PATTERN.pattern,
                description="1-255 visible ASCII characters; the same key and body again return the first job",
            ),
        ] = None,
    ) -> Response[api.JobStatus]:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.jobs.records import accept_job_request
        from trainforge.s3_locations import s3_folder
        from trainforge.submissions.worker import request_submission

        settings = runtime.settings
        caller = caller_of(runtime, router)
        team = submission_team(runtime, caller, request.team)
        config = training_config(request)
        dataset_uri = s3_folder(request.dataset_uri)
        db = runtime.database
        job_id, created = accept_job_request(
            db,
            settings,
            config,
            dataset_uri,
            output_uri=request.output_uri,
            image_uri=request.image_uri,
            idempotency_key=idempotency_key,
            team=team,
            submitted_by=caller.principal,
        )
        logger.append_keys(job_id=job_id, job_name=config.job_name)
        status = job_queries.job_status(db, job_id)
        if status["status"] == "Pending":
            try:
                request_submission(settings, job_id)
            except Exception:
                logger.exception("submission request not sent; the reconciler will send it")
        if created:
            metrics.add_metric(name="JobsRequested", unit=MetricUnit.Count, value=1)
        body = api.JobStatus.model_validate(status)
        return Response(HTTPStatus.ACCEPTED if created else HTTPStatus.OK, "application/json", body)

    @router.post(
        "/jobs/dry-run",
        summary="Check a submission end to end without submitting: its cost ceiling, capacity and image",
        tags=["jobs"],
        operation_id="dryRunJob",
        responses=api.responses(
            {200: (api.DryRun, "everything a submission would check passed; nothing was recorded or sent")},
            400,
            413,
            415,
            503,
        ),
    )
    def dry_run_job(request: api.JobRequest) -> api.DryRun:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.aws import client
        from trainforge.jobs.dry_run import dry_run
        from trainforge.s3_locations import s3_folder

        settings = runtime.settings
        team = submission_team(runtime, caller_of(runtime, router), request.team)
        answer = dry_run(
            runtime.database,
            settings,
            training_config(request),
            s3_folder(request.dataset_uri),
            output_uri=request.output_uri,
            image_uri=request.image_uri,
            s3=client("s3", settings.region),
            ecr=client("ecr", settings.region),
            team=team,
            local_image=runtime.local_image(),
        )
        return api.DryRun.model_validate(answer)

    @router.get(
        "/jobs",
        summary="Jobs, newest first, by page",
        tags=["jobs"],
        operation_id="listJobs",
        responses=api.responses({200: (api.JobPage, "a page of jobs and the next page's cursor")}, 503),
    )
    def list_jobs(
        status: Annotated[
            str | None, Query(max_length=32, json_schema_extra={"enum": list(JOB_STATUS_RANK)})
        ] = None,
        job_name: Annotated[str | None, Query(max_length=63)] = None,
        team: Annotated[
            str | None, Query(max_length=40, description="administrators: only this team's jobs")
        ] = None,
        created_after: Annotated[datetime | None, Query()] = None,
        created_before: Annotated[datetime | None, Query()] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> api.JobPage:
        page = job_queries.jobs_page(
            runtime.database,
            status=status,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
            job_name=job_name,
            team=caller_of(runtime, router).scope(team),
        )
        return api.JobPage.model_validate(page)

    @router.get(
        "/jobs/<job_id>",
        summary="A job's status, history and report",
        tags=["jobs"],
        operation_id="getJob",
        responses=api.responses({200: (api.JobStatus, "the job")}, 404, 503),
    )
    def job_status(job_id: JobId) -> api.JobStatus:
        status = job_queries.job_status(runtime.database, job_id, caller_of(runtime, router).sees)
        return api.JobStatus.model_validate(status)

    @router.post(
        "/jobs/<job_id>/cancel",
        summary="Cancel a job; false when it had already finished",
        tags=["jobs"],
        operation_id="cancelJob",
        responses=api.responses(
            {200: (api.CancelResponse, "whether a stop was requested, and the job")},
            400,
            404,
            413,
            415,
            502,
            503,
        ),
    )
    def cancel_job(job_id: JobId) -> api.CancelResponse:
        db = runtime.database
        cancelled = cancellation.cancel_job(runtime.training, job_id, db, caller_of(runtime, router).sees)
        status = job_queries.job_status(db, job_id)
        return api.CancelResponse(cancelled=cancelled, job=api.JobStatus.model_validate(status))

    return router
