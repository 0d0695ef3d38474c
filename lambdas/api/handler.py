"""The REST API: API Gateway proxy requests, validated against the models that generate its OpenAPI document.

Every error is JSON ``{"error": {"code", "message", "field"?}}`` with the right status; nothing a client sends
yields a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
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

from trainforge import __version__
from trainforge.aws import client
from trainforge.errors import DockerContainerError, SageMakerConfigurationError, SageMakerError
from trainforge.inputs import INVALID_TEXT_MESSAGE, MalformedJsonError, parse_json, unstorable_text_paths
from trainforge.models import api
from trainforge.models.status import JOB_STATUS_RANK
from trainforge.runtime import Runtime
from trainforge.services.container_builds import builds_page, get_build, start_build
from trainforge.services.dataset_preparation import ManifestFile, channel_of
from trainforge.services.dataset_uploads import presign_dataset_upload
from trainforge.services.health import database_answers, is_database_unavailable
from trainforge.services.job_queries import MAX_ID, MAX_PAGE_SIZE
from trainforge.services.sagemaker_training_service import IDEMPOTENCY_KEY_PATTERN
from trainforge.services.submissions import request_submission
from trainforge.services.training_config import TrainingConfig

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="api")
RUNTIME = Runtime()
MAX_BODY_BYTES = 1024 * 1024
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
# Status codes by error code, where the class alone does not say it.
STATUS_BY_CODE = {
    "not_found": HTTPStatus.NOT_FOUND,
    "conflict": HTTPStatus.CONFLICT,
    "aws_refused": HTTPStatus.BAD_GATEWAY,
    "submission_throttled": HTTPStatus.SERVICE_UNAVAILABLE,
}

app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title="Trainforge", version=__version__, description=__doc__)


def error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    problems: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field:
        detail["field"] = field
    if problems:
        detail["problems"] = problems
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": detail}),
        headers=headers,
    )


class Refusal(Exception):
    """The door's answer to a request that never reaches a route."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        problems: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.problems = problems

    def as_proxy_response(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            detail["field"] = self.field
        if self.problems:
            detail["problems"] = self.problems
        return {
            "statusCode": int(self.status),
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": detail}),
            "isBase64Encoded": False,
        }


def refuse_unstorable_text(values: Any) -> None:
    fields = list(unstorable_text_paths(values))
    if fields:
        raise Refusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            f"{fields[0]}: {INVALID_TEXT_MESSAGE}",
            fields[0],
            [{"field": name, "message": INVALID_TEXT_MESSAGE} for name in fields],
        )


def _header(event: dict[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value or "")
    return ""


def check_at_the_door(event: dict[str, Any]) -> None:
    """Before routing: the caller's principal, the parameters' text, and the body (size, media type, JSON that
    parses within limits, text PostgreSQL can store). Raises :class:`Refusal`; on success the body is left as
    plain JSON text for the router. IAM (SigV4) authorization happens at API Gateway; anything that arrives
    without its principal is refused unless local mode allows it."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    principal = identity.get("userArn") or identity.get("caller")
    if not principal and not RUNTIME.settings.allow_unauthenticated:
        raise Refusal(
            HTTPStatus.FORBIDDEN, "forbidden", "sign the request with AWS SigV4 (IAM authorization)"
        )
    if principal:
        logger.append_keys(principal=principal)
    for name, value in path_ids(str(event.get("path") or "")).items():
        if not value.isascii() or not value.isdigit():
            # Strict: "1.0", "+1" or "1_0" would otherwise be coerced into an id.
            raise Refusal(
                HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", f"{name}: must be a whole number", name
            )
    for where in ("queryStringParameters", "headers", "pathParameters"):
        refuse_unstorable_text(event.get(where) or {})
    if str(event.get("httpMethod", "")).upper() not in METHODS_WITH_BODY:
        event["body"], event["isBase64Encoded"] = None, False  # a body on GET means nothing here
        return
    raw: str | bytes = event.get("body") or ""
    if event.get("isBase64Encoded") and raw:
        try:
            raw = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            raise Refusal(HTTPStatus.BAD_REQUEST, "malformed_json", "the body is not valid base64") from None
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise Refusal(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", "request bodies are limited to 1 MiB"
        )
    if not size:
        return
    media_type = _header(event, "content-type").split(";", 1)[0].strip().lower()
    if not JSON_MEDIA_TYPE.fullmatch(media_type):
        raise Refusal(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"send the body as application/json, not {media_type or 'without a Content-Type'}",
            "Content-Type",
        )
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8, refused below
    try:
        body = parse_json(raw)
    except MalformedJsonError as exc:
        raise Refusal(HTTPStatus.BAD_REQUEST, exc.code, exc.message, "body") from None
    refuse_unstorable_text(body)
    event["body"], event["isBase64Encoded"] = raw.decode("utf-8"), False
    event.setdefault("headers", {})
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    event["headers"]["Content-Type"] = "application/json"


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
        f"{field}: {first.get('msg', 'invalid request')}"
        if field
        else str(first.get("msg", "invalid request")),
        field,
        problems,
    )


@app.exception_handler(SageMakerError)
def domain_error(exc: SageMakerError) -> Response[Any]:
    problems = [{"field": p.field, "message": p.message} for p in exc.problems] or None
    status = STATUS_BY_CODE.get(exc.code)
    if status is None:
        is_input = isinstance(exc, SageMakerConfigurationError) or (
            isinstance(exc, DockerContainerError) and exc.field
        )
        status = HTTPStatus.UNPROCESSABLE_ENTITY if is_input else HTTPStatus.BAD_GATEWAY
    if status >= 500:
        logger.warning("upstream refused or busy", error=exc.message)
    headers = {"Retry-After": "5"} if status == HTTPStatus.SERVICE_UNAVAILABLE else None
    return error(status, exc.code, exc.message, exc.field, problems, headers)


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response[Any]:
    if is_database_unavailable(exc):
        logger.warning("database unavailable", error=str(exc)[:500])
        return error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is not reachable right now; retry shortly",
            headers={"Retry-After": "5"},
        )
    logger.exception("unexpected error")
    return error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Trainforge failed; the error is logged")


def _routes() -> list[Any]:
    return app._static_routes + app._dynamic_routes  # Powertools keeps no public route table


def allowed_methods(path: str) -> list[str]:
    """The methods the API serves on ``path`` (empty: no such path)."""
    return sorted({route.method for route in _routes() if route.rule.match(path)})


def path_ids(path: str) -> dict[str, str]:
    """The ``<..._id>`` segments of ``path`` as the routes name them, as sent."""
    found: dict[str, str] = {}
    for route in _routes():
        match = route.rule.match(path)
        if match:
            found.update({k: v for k, v in match.groupdict().items() if k.endswith("_id")})
    return found


@app.not_found
def no_route(exc: Exception) -> Response[Any]:
    method, path = app.current_event.http_method, app.current_event.path
    allowed = allowed_methods(path)
    if allowed:
        return error(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"{path} answers {', '.join(allowed)}, not {method}",
            headers={"Allow": ", ".join(allowed)},
        )
    return error(HTTPStatus.NOT_FOUND, "no_route", f"no route {method} {path}")


JobId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="the job's id", openapi_examples={"job": {"value": 7}})
]
BuildId = Annotated[int, Path(ge=1, le=MAX_ID, description="the build's id")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of the previous page"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


def openapi_json() -> str:
    document = json.loads(
        app.get_openapi_json_schema(title="Trainforge", version=__version__, description=__doc__)
    )
    return json.dumps(without_unused_schemas(document))


def without_unused_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the framework's default error schemas, which no operation answers with (every error is
    ``ErrorResponse``), so the document names only what the API sends."""
    schemas = document.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) + json.dumps(
            {k: v for k, v in schemas.items()}
        )
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return document
        for name in unused:
            del schemas[name]


@app.get(
    "/health",
    summary="Liveness, with a database round trip",
    tags=["setup"],
    operation_id="getHealth",
    responses=api.responses({200: (api.Health, "alive; `database` says whether PostgreSQL answered")}),
)
def health() -> api.Health:
    database = database_answers(RUNTIME.sessions)
    if not database:
        logger.warning("database unreachable")
    return api.Health(status="ok" if database else "degraded", database=database, version=__version__)


@app.get(
    "/config/validation",
    summary="Check credentials, role, buckets, repository and quotas",
    tags=["setup"],
    operation_id="validateConfiguration",
    responses=api.responses({200: (api.ConfigurationReport, "every check, failures with their fix")}),
)
def validate_configuration() -> api.ConfigurationReport:
    return api.ConfigurationReport.model_validate(RUNTIME.training.validate_configuration())


@app.post(
    "/roles",
    summary="Create (or update) a SageMaker execution role that Trainforge owns",
    tags=["setup"],
    operation_id="createExecutionRole",
    responses=api.responses({201: (api.RoleResponse, "the role's ARN")}, 400, 409, 413, 415, 502),
)
def create_role(request: api.RoleRequest) -> Response[api.RoleResponse]:
    arn = RUNTIME.training.create_execution_role(request.role_name)
    return Response(HTTPStatus.CREATED, "application/json", api.RoleResponse(role_arn=arn))


@app.post(
    "/datasets",
    summary="Presigned upload URLs for a dataset's files and its manifest",
    tags=["datasets"],
    operation_id="createDatasetUpload",
    responses=api.responses(
        {200: (api.DatasetUploadResponse, "where to PUT each file, and the manifest last")},
        400,
        413,
        415,
        502,
    ),
)
def dataset_upload(request: api.DatasetUploadRequest) -> api.DatasetUploadResponse:
    result = presign_dataset_upload(
        RUNTIME.settings,
        client("s3", RUNTIME.settings.region),
        name=request.name,
        metadata_file=request.metadata_file,
        files=[ManifestFile(f.path, f.size, f.sha256, channel_of(f.path, f.channel)) for f in request.files],
        training=request.training,
    )
    return api.DatasetUploadResponse.model_validate(result)


@app.post(
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
    settings = RUNTIME.settings
    fields = request.model_dump(exclude_none=True, exclude={"dataset_uri", "output_uri", "image_uri"})
    fields.setdefault("instance_type", settings.default_instance_type)
    config = TrainingConfig.from_dict(fields)
    output = request.output_uri or f"s3://{settings.artifacts_bucket}/{settings.output_prefix}"
    dataset_uri = request.dataset_uri if request.dataset_uri.endswith("/") else f"{request.dataset_uri}/"
    with RUNTIME.sessions() as db:
        job_id, created = RUNTIME.training.record_training_job(
            config,
            dataset_uri,
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


@app.get(
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
    created_after: Annotated[datetime | None, Query()] = None,
    created_before: Annotated[datetime | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
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


@app.get(
    "/jobs/<job_id>",
    summary="A job's status, history and report",
    tags=["jobs"],
    operation_id="getJob",
    responses=api.responses({200: (api.JobStatus, "the job")}, 404, 503),
)
def job_status(job_id: JobId) -> api.JobStatus:
    with RUNTIME.sessions() as db:
        return api.JobStatus.model_validate(RUNTIME.training.get_job_status(job_id, db))


@app.post(
    "/jobs/<job_id>/cancel",
    summary="Cancel a job; false when it had already finished",
    tags=["jobs"],
    operation_id="cancelJob",
    responses=api.responses(
        {200: (api.CancelResponse, "whether a stop was requested, and the job")}, 400, 404, 413, 415, 502, 503
    ),
)
def cancel_job(job_id: JobId) -> api.CancelResponse:
    with RUNTIME.sessions() as db:
        cancelled = RUNTIME.training.cancel_training_job(job_id, db)
        status = RUNTIME.training.get_job_status(job_id, db)
    return api.CancelResponse(cancelled=cancelled, job=api.JobStatus.model_validate(status))


@app.post(
    "/builds",
    summary="Build a training image with CodeBuild",
    tags=["builds"],
    operation_id="startBuild",
    responses=api.responses({202: (api.Build, "the build, queued")}, 400, 413, 415, 502, 503),
)
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


@app.get(
    "/builds/<build_id>",
    summary="A container build",
    tags=["builds"],
    operation_id="getBuild",
    responses=api.responses({200: (api.Build, "the build")}, 404, 503),
)
def build_status(build_id: BuildId) -> api.Build:
    with RUNTIME.sessions() as db:
        return api.Build.model_validate(get_build(db, build_id))


@app.get(
    "/builds",
    summary="Container builds, newest first",
    tags=["builds"],
    operation_id="listBuilds",
    responses=api.responses({200: (api.BuildPage, "a page of builds and the next page's cursor")}, 503),
)
def list_builds(cursor: Cursor = None, limit: Limit = 50) -> api.BuildPage:
    with RUNTIME.sessions() as db:
        return api.BuildPage.model_validate(builds_page(db, cursor=cursor, limit=limit))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        check_at_the_door(event)
    except Refusal as refusal:
        return refusal.as_proxy_response()
    return app.resolve(event, context)
