"""Hyperparameter tuning jobs: submit (queued like training jobs), list, status with trials best first, cancel."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from trainforge.api.callers import caller_of, submission_team
from trainforge.api.parameters import Cursor, Limit, TuningJobId
from trainforge.models.api import tuning as shapes
from trainforge.models.api.base import responses
from trainforge.models.sagemaker_limits import TUNING_JOB_NAME_PATTERN
from trainforge.runtime import Runtime


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The tuning routes, served by ``runtime``'s settings, database and SageMaker."""
    router = Router()

    @router.post(
        "/tuning-jobs",
        summary="Submit a hyperparameter tuning job (queued with training jobs)",
        tags=["tuning"],
        operation_id="submitTuningJob",
        responses=responses(
            {
                202: (shapes.TuningJobStatus, "recorded and queued for submission"),
                200: (shapes.TuningJobStatus, "the same request again: the first tuning job"),
            },
            400,
            409,
            413,
            415,
            503,
        ),
    )
    def submit_tuning_job(request: shapes.TuningRequest) -> Response[shapes.TuningJobStatus]:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.s3_locations import s3_folder
        from trainforge.submissions.worker import request_submission
        from trainforge.tuning.config import TuningConfig
        from trainforge.tuning.jobs import record_tuning_job, tuning_status

        caller = caller_of(runtime, router)
        team = submission_team(runtime, caller, request.team)
        fields = request.model_dump(exclude={"team", "dataset_uri", "output_uri", "image_uri"})
        training = {k: v for k, v in dict(fields["training"]).items() if v is not None}  # absent: the default
        training.setdefault("instance_type", runtime.settings.default_instance_type)
        fields["training"] = {**training, "job_name": request.tuning_job_name}
        config = TuningConfig.from_dict(fields)
        db = runtime.database
        row, created = record_tuning_job(
            db, runtime.settings, config, s3_folder(request.dataset_uri), output_uri=request.output_uri,
            image_uri=request.image_uri, team=team, submitted_by=caller.principal,
        )  # fmt: skip
        logger.append_keys(tuning_job_id=row.id, tuning_job_name=row.name)
        if row.status == "Pending":
            try:
                request_submission(runtime.settings, row.id, tuning=True)
            except Exception:
                logger.exception("submission request not sent; the reconciler will send it")
        body = shapes.TuningJobStatus.model_validate(tuning_status(db, row.id))
        return Response(HTTPStatus.ACCEPTED if created else HTTPStatus.OK, "application/json", body)

    @router.get(
        "/tuning-jobs",
        summary="Tuning jobs, newest first, by page",
        tags=["tuning"],
        operation_id="listTuningJobs",
        responses=responses(
            {200: (shapes.TuningPage, "a page of tuning jobs and the next page's cursor")}, 503
        ),
    )
    def list_tuning_jobs(
        team: Annotated[str | None, Query(max_length=40, description="administrators: one team's")] = None,
        tuning_job_name: Annotated[
            str | None,
            Query(
                max_length=32,
                pattern=TUNING_JOB_NAME_PATTERN.pattern,
                description="only the one of this name",
            ),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> shapes.TuningPage:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.tuning.jobs import tuning_page

        scope = caller_of(runtime, router).scope(team)
        return shapes.TuningPage.model_validate(
            tuning_page(runtime.database, team=scope, cursor=cursor, limit=limit, name=tuning_job_name)
        )

    @router.get(
        "/tuning-jobs/<tuning_job_id>",
        summary="A tuning job, its counts and best trial, and its trials best first",
        tags=["tuning"],
        operation_id="getTuningJob",
        responses=responses({200: (shapes.TuningJobStatus, "the tuning job")}, 404, 503),
    )
    def tuning_job(tuning_job_id: TuningJobId) -> shapes.TuningJobStatus:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.tuning.jobs import tuning_status

        found = tuning_status(runtime.database, tuning_job_id, caller_of(runtime, router).sees)
        return shapes.TuningJobStatus.model_validate(found)

    @router.post(
        "/tuning-jobs/<tuning_job_id>/cancel",
        summary="Stop a tuning job and its trials; false when it had already ended",
        tags=["tuning"],
        operation_id="cancelTuningJob",
        responses=responses(
            {200: (shapes.TuningCancelResponse, "whether a stop was requested, and the tuning job")},
            400,
            404,
            413,
            415,
            502,
            503,
        ),
    )
    def cancel_tuning_job(tuning_job_id: TuningJobId) -> shapes.TuningCancelResponse:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.tuning.jobs import cancel_tuning_job as cancel
        from trainforge.tuning.jobs import tuning_status

        sees = caller_of(runtime, router).sees
        db = runtime.database
        cancelled = cancel(db, runtime.training.sagemaker, tuning_job_id, sees)
        status = shapes.TuningJobStatus.model_validate(tuning_status(db, tuning_job_id, sees))
        return shapes.TuningCancelResponse(cancelled=cancelled, tuning_job=status)

    return router
