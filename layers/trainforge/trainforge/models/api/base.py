"""The API's shared shapes: the base models (deferred validators; strict requests) and the one error body every
failure answers with, with the OpenAPI responses that document it per operation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Every API model. Validators are built on first use, not at import: a container built for one request
    pays only for the models that request touches."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    """Requests: unknown fields refused, and no coercion (``true`` is not a count, ``"5"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class FieldProblem(Model):
    field: str = Field(description="where: a body field (dotted path), a query parameter or a header")
    message: str = Field(description="the rule it broke")


class ErrorDetail(Model):
    code: str = Field(
        description="stable, for programs: malformed_json, invalid_request, not_found, conflict, ..."
    )
    message: str = Field(description="for people: what was wrong and how to fix it")
    field: str | None = Field(default=None, description="the first field at fault")
    problems: list[FieldProblem] | None = Field(default=None, description="every field at fault")


class ErrorResponse(Model):
    """Every error the API answers has this body."""

    error: ErrorDetail


# One example per status: what a client sees, copied from real answers.
ERROR_EXAMPLES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("Malformed body", "the body is not JSON Trainforge accepts",
          {"code": "malformed_json", "message": "the body is not valid JSON: Expecting value at line 1 column 1"}),
    403: ("No team", "the request was not signed, its principal belongs to no team, or only administrators may",
          {"code": "forbidden", "message": "arn:aws:iam::123456789012:role/intern belongs to no Trainforge team: "
           "ask an administrator to add it to a team's members"}),
    404: ("Unknown id", "no such job or build",
          {"code": "not_found", "message": "no training job with id 42", "field": "job_id"}),
    409: ("Conflict", "the name or key is taken by a different request, or a role Trainforge does not own",
          {"code": "conflict", "message": "job 7 (churn-1) was submitted with the same job name but a different "
           "instance_type", "field": "instance_type",
           "problems": [{"field": "instance_type", "message": "differs from the first submission"}]}),
    413: ("Body too large", "the body is over 1 MiB",
          {"code": "body_too_large", "message": "request bodies are limited to 1 MiB"}),
    415: ("Not JSON", "the body is sent with another content type",
          {"code": "unsupported_media_type", "message": "send the body as application/json, not text/plain"}),
    422: ("Invalid field", "a field, query parameter or header breaks a rule (each one is listed)",
          {"code": "invalid_request", "message": "instance_type: ml.m5 has no size 'gigantic' for training",
           "field": "instance_type",
           "problems": [{"field": "instance_type", "message": "ml.m5 has no size 'gigantic' for training"}]}),
    502: ("AWS refused", "an AWS service refused Trainforge's own request",
          {"code": "aws_refused", "message": "could not create role x: AccessDenied: not authorized",
           "field": "role_name"}),
    503: ("Busy or unavailable", "the database or SageMaker could not answer in time: retry later",
          {"code": "database_unavailable", "message": "the database is not reachable right now; retry shortly"}),
}  # fmt: skip


def responses(success: dict[int, tuple[type[BaseModel], str]], *errors: int) -> dict[int, Any]:
    """An operation's OpenAPI responses: its successes and each error status it can answer, all documented with
    the one error body (replacing the framework's default 422 schema, which is not what the API sends)."""
    documented: dict[int, Any] = {
        status: {"description": text, "content": {"application/json": {"model": model}}}
        for status, (model, text) in success.items()
    }
    for status in sorted({403, 422, *errors}):
        title, text, example = ERROR_EXAMPLES[status]
        documented[status] = {
            "description": text,
            "content": {
                "application/json": {
                    "model": ErrorResponse,
                    "examples": {
                        title.lower().replace(" ", "_"): {"summary": title, "value": {"error": example}}
                    },
                }
            },
        }
    return documented
