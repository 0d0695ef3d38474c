"""The REST API: API Gateway proxy requests, validated against the models that generate its OpenAPI document.

Every error is JSON ``{"error": {"code", "message", "field"?}}`` with the right status; nothing a client sends
yields a 500.
"""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import text

from trainforge import __version__, repository
from trainforge.aws import client
from trainforge.errors import (
    DockerContainerError,
    RetryableSubmissionError,
    SageMakerConfigurationError,
    SageMakerError,
)
from trainforge.models import api
from trainforge.runtime import Runtime
from trainforge.services.container_builds import build_to_dict, get_build, start_build
from trainforge.services.dataset_preparation import ManifestFile
from trainforge.services.dataset_uploads import presign_dataset_upload
from trainforge.services.submissions import request_submission
from trainforge.services.training_config import TrainingConfig

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="api")
RUNTIME = Runtime()
MAX_BODY_BYTES = 1024 * 1024

# A response that breaks its own schema is Trainforge's fault: 500, not the client's 422.
app = APIGatewayRestResolver(
    enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR
)
app.enable_swagger(path="/swagger", title="Trainforge", version=__version__, description=__doc__)


def error(
    status: int, code: str, message: str, field: str | None = None, problems: Any = None
) -> Response[Any]:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field:
        detail["field"] = field
    if problems:
        detail["problems"] = problems
    return Response(status_code=status, content_type="application/json", body=json.dumps({"error": detail}))


def refused_at_the_door(event: dict[str, Any]) -> tuple[int, str, str] | None:
    """Before routing or validation: the body's size, and the caller's principal. IAM (SigV4) authorization
    happens at API Gateway; anything that arrives without its principal is refused unless local mode allows it."""
    body = event.get("body") or ""
    if len(body.encode()) > MAX_BODY_BYTES:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", "request bodies are limited to 1 MiB"
    identity = (event.get("requestContext") or {}).get("identity") or {}
    principal = identity.get("userArn") or identity.get("caller")
    if not principal and not RUNTIME.settings.allow_unauthenticated:
        return HTTPStatus.FORBIDDEN, "forbidden", "sign the request with AWS SigV4 (IAM authorization)"
    if principal:
        logger.append_keys(principal=principal)
    return None


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response[Any]:
    errors = exc.errors()
    first = errors[0] if errors else {}
    # ("body", "instance_count"), ("query", "limit"), ("body", "files", 0, "path")
    location = [str(part) for part in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        return error(HTTPStatus.BAD_REQUEST, "malformed_json", "the body is not valid JSON", "body")
    field = ".".join(location[1:]) or (location[0] if location else None)
    problems = [
        {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body", "message": str(e.get("msg"))}
        for e in errors
    ]
    return error(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "invalid_request",
        str(first.get("msg", "invalid request")),
        field,
        problems,
    )


@app.exception_handler(SageMakerError)
def domain_error(exc: SageMakerError) -> Response[Any]:
    problems = [{"field": p.field, "message": p.message} for p in exc.problems] or None
    if exc.code == "not_found":
        return error(HTTPStatus.NOT_FOUND, "not_found", exc.message, exc.field)
    if isinstance(exc, SageMakerConfigurationError) or (isinstance(exc, DockerContainerError) and exc.field):
        return error(HTTPStatus.UNPROCESSABLE_ENTITY, exc.code, exc.message, exc.field, problems)
    if isinstance(exc, RetryableSubmissionError):
        return error(HTTPStatus.SERVICE_UNAVAILABLE, exc.code, exc.message)
    logger.warning("upstream refused", error=exc.message)
    return error(HTTPStatus.BAD_GATEWAY, exc.code, exc.message, exc.field)


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Trainforge failed; the error is logged")


@app.not_found
def no_route(exc: Exception) -> Response[Any]:
    return error(
        HTTPStatus.NOT_FOUND, "no_route", f"no route {app.current_event.http_method} {app.current_event.path}"
    )


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=app.get_openapi_json_schema(title="Trainforge", version=__version__),
    )


@app.get("/health", summary="Liveness, with a database round trip")
def health() -> api.Health:
    try:
        with RUNTIME.sessions() as db:
            db.execute(text("SELECT 1"))
        database = True
    except Exception:
        logger.warning("database unreachable")
        database = False
    return api.Health(status="ok" if database else "degraded", database=database, version=__version__)


@app.get("/config/validation", summary="Check credentials, role, buckets, repository and quotas")
def validate_configuration() -> api.ConfigurationReport:
    return api.ConfigurationReport.model_validate(RUNTIME.training.validate_configuration())


@app.post("/roles", summary="Create (or update) a SageMaker execution role")
def create_role(request: api.RoleRequest) -> Response[api.RoleResponse]:
    arn = RUNTIME.training.create_execution_role(request.role_name)
    return Response(HTTPStatus.CREATED, "application/json", api.RoleResponse(role_arn=arn))


@app.post("/datasets", summary="Presigned upload URLs for a dataset's files and its manifest")
def dataset_upload(request: api.DatasetUploadRequest) -> api.DatasetUploadResponse:
    result = presign_dataset_upload(
        RUNTIME.settings,
        client("s3", RUNTIME.settings.region),
        name=request.name,
        metadata_file=request.metadata_file,
        files=[ManifestFile(f.path, f.size, f.sha256) for f in request.files],
        training=request.training,
    )
    return api.DatasetUploadResponse.model_validate(result)


@app.post("/jobs", summary="Submit a training job (queued; SageMaker accepts about one a second)")
def submit_job(
    request: api.JobRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[api.JobStatus]:
    settings = RUNTIME.settings
    fields = request.model_dump(exclude_none=True, exclude={"dataset_uri", "output_uri", "image_uri"})
    fields.setdefault("instance_type", settings.default_instance_type)
    config = TrainingConfig.from_dict(fields)
    output = request.output_uri or f"s3://{settings.artifacts_bucket}/{settings.output_prefix}"
    with RUNTIME.sessions() as db:
        job_id, created = RUNTIME.training.record_training_job(
            config,
            request.dataset_uri,
            output,
            settings.execution_role_arn,
            request.image_uri or settings.default_image_uri,
            db,
            idempotency_key=idempotency_key,
        )
        logger.append_keys(job_id=job_id, job_name=config.job_name)
        status = RUNTIME.training.get_job_status(job_id, db)
    if status["status"] == "Pending":
        try:
            request_submission(settings, job_id)
        except Exception:
            logger.exception("submission request not sent; the reconciler will send it")
    if created:
        metrics.add_metric(name="JobsRequested", unit=MetricUnit.Count, value=1)
    body = api.JobStatus.model_validate(status)
    return Response(HTTPStatus.ACCEPTED if created else HTTPStatus.OK, "application/json", body)


@app.get("/jobs", summary="Jobs, newest first, by page")
def list_jobs(
    status: Annotated[str | None, Query()] = None,
    job_name: Annotated[str | None, Query(max_length=63)] = None,
    created_after: Annotated[datetime | None, Query()] = None,
    created_before: Annotated[datetime | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=repository.MAX_PAGE_SIZE)] = 50,
) -> api.JobPage:
    with RUNTIME.sessions() as db:
        page = RUNTIME.training.list_training_jobs_page(
            db,
            status=status,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
            job_name=job_name,
        )
    return api.JobPage.model_validate(page)


@app.get("/jobs/<job_id>", summary="A job's status, history and report")
def job_status(job_id: Annotated[int, Path(ge=1, le=repository.MAX_ID)]) -> api.JobStatus:
    with RUNTIME.sessions() as db:
        return api.JobStatus.model_validate(RUNTIME.training.get_job_status(job_id, db))


@app.post("/jobs/<job_id>/cancel", summary="Cancel a job; false when it had already finished")
def cancel_job(job_id: Annotated[int, Path(ge=1, le=repository.MAX_ID)]) -> api.CancelResponse:
    with RUNTIME.sessions() as db:
        cancelled = RUNTIME.training.cancel_training_job(job_id, db)
        status = RUNTIME.training.get_job_status(job_id, db)
    return api.CancelResponse(cancelled=cancelled, job=api.JobStatus.model_validate(status))


@app.post("/builds", summary="Build a training image with CodeBuild")
def create_build(request: api.BuildRequest) -> Response[api.Build]:
    with RUNTIME.sessions() as db:
        build_id, _ = start_build(
            db,
            RUNTIME.builder(),
            base_image=request.base_image,
            tag=request.tag,
            files=request.files,
            entry_point=request.entry_point,
        )
        body = api.Build.model_validate(get_build(db, build_id))
    return Response(HTTPStatus.ACCEPTED, "application/json", body)


@app.get("/builds/<build_id>", summary="A container build")
def build_status(build_id: Annotated[int, Path(ge=1, le=repository.MAX_ID)]) -> api.Build:
    with RUNTIME.sessions() as db:
        return api.Build.model_validate(get_build(db, build_id))


@app.get("/builds", summary="Container builds, newest first")
def list_builds(
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=repository.MAX_PAGE_SIZE)] = 50,
) -> api.BuildPage:
    with RUNTIME.sessions() as db:
        builds, next_cursor = repository.list_builds(db, cursor=cursor, limit=limit)
        return api.BuildPage(
            builds=[api.Build.model_validate(build_to_dict(b)) for b in builds], next_cursor=next_cursor
        )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = refused_at_the_door(event)
    if refusal is not None:
        status, code, message = refusal
        return {
            "statusCode": int(status),
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": {"code": code, "message": message}}),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)
