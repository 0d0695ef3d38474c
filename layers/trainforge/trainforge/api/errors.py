"""The API's error envelope: every error is JSON ``{"error": {"code", "message", "field"?, "problems"?}}`` with
the status that says whose fault it was; nothing a client sends yields a 500."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from trainforge.account.health import is_database_unavailable
from trainforge.errors import DockerContainerError, SageMakerConfigurationError, SageMakerError
from trainforge.models.rules import rule_in_words

# Status codes by error code, where the class alone does not say it.
STATUS_BY_CODE = {
    "not_found": HTTPStatus.NOT_FOUND,
    "conflict": HTTPStatus.CONFLICT,
    "aws_refused": HTTPStatus.BAD_GATEWAY,
    "submission_throttled": HTTPStatus.SERVICE_UNAVAILABLE,
    "forbidden": HTTPStatus.FORBIDDEN,
}


def envelope(code: str, message: str, field: str | None = None, problems: Any = None) -> str:
    """The one error body: ``{"error": {"code", "message", "field"?, "problems"?}}``."""
    detail: dict[str, Any] = {"code": code, "message": message}
    if field:
        detail["field"] = field
    if problems:
        detail["problems"] = problems
    return json.dumps({"error": detail})


def error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    problems: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=envelope(code, message, field, problems),
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
        return {
            "statusCode": int(self.status),
            "headers": {"Content-Type": "application/json"},
            "body": envelope(self.code, self.message, self.field, self.problems),
            "isBase64Encoded": False,
        }


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    """Turn validation errors, domain errors and anything unexpected into the envelope, in one place."""

    def invalid_request(exc: RequestValidationError) -> Response[Any]:
        errors = exc.errors()
        first = errors[0] if errors else {}
        # ("body", "instance_count"), ("query", "limit"), ("body", "files", 0, "path")
        location = [str(part) for part in first.get("loc", ())]
        if first.get("type") == "json_invalid":
            return error(HTTPStatus.BAD_REQUEST, "malformed_json", "the body is not valid JSON", "body")
        field = ".".join(location[1:]) or (location[0] if location else None)
        # Every problem, each with its field and its rule in words (never a regular expression).
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body", "message": rule_in_words(e)}
            for e in errors
        ]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        first_rule = problems[0]["message"] if problems else "invalid request"
        return error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            (f"{field}: {first_rule}" if field else first_rule) + more,
            field,
            problems,
        )

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
        return error(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Trainforge failed; the error is logged"
        )

    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(SageMakerError)(domain_error)
    app.exception_handler(Exception)(unexpected)
