"""The API's door: what is checked before routing (the caller's principal, the parameters' text, the body's size,
media type and JSON), so a request the router could choke on never reaches it."""

from __future__ import annotations

import base64
import binascii
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from trainforge.api.errors import Refusal
from trainforge.inputs import INVALID_TEXT_MESSAGE, MalformedJsonError, parse_json, unstorable_text_paths

MAX_BODY_BYTES = 1024 * 1024
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


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


# Local mode only: the principal a request stands for, so tests and the demo take API Gateway's identity path
# as any team's member. Deployed, API Gateway's SigV4 identity is the only source and this header is ignored.
LOCAL_PRINCIPAL_HEADER = "x-trainforge-principal"


def check_at_the_door(
    event: dict[str, Any],
    app: APIGatewayRestResolver,
    *,
    allow_unauthenticated: bool,
    honour_principal_header: bool = False,
) -> str | None:
    """Before routing: the caller's principal, the parameters' text, and the body (size, media type, JSON that
    parses within limits, text PostgreSQL can store). Raises :class:`Refusal`; on success the body is left as
    plain JSON text for the router, and the caller's principal is returned. IAM (SigV4) authorization happens at
    API Gateway; anything that arrives without its principal is refused unless local mode allows it."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    principal = identity.get("userArn") or identity.get("caller")
    named = _header(event, LOCAL_PRINCIPAL_HEADER).strip() if honour_principal_header else ""
    if named:
        if len(named) > 2048 or not named.isprintable():
            raise Refusal(HTTPStatus.BAD_REQUEST, "invalid_request", "X-Trainforge-Principal: not a principal",
                          "X-Trainforge-Principal")  # fmt: skip
        principal = named
    if not principal and not allow_unauthenticated:
        raise Refusal(
            HTTPStatus.FORBIDDEN, "forbidden", "sign the request with AWS SigV4 (IAM authorization)"
        )
    for name, value in path_ids(app, str(event.get("path") or "")).items():
        if not value.isascii() or not value.isdigit():
            # Strict: "1.0", "+1" or "1_0" would otherwise be coerced into an id.
            raise Refusal(
                HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", f"{name}: must be a whole number", name
            )
    for where in ("queryStringParameters", "headers", "pathParameters"):
        refuse_unstorable_text(event.get(where) or {})
    if str(event.get("httpMethod", "")).upper() not in METHODS_WITH_BODY:
        event["body"], event["isBase64Encoded"] = None, False  # a body on GET means nothing here
        return principal
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
        return principal
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
    return principal


def _routes(app: APIGatewayRestResolver) -> list[Any]:
    return app._static_routes + app._dynamic_routes  # Powertools keeps no public route table


def allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """The methods the API serves on ``path`` (empty: no such path)."""
    return sorted({route.method for route in _routes(app) if route.rule.match(path)})


def unmatched_parameters(app: APIGatewayRestResolver, method: str, path: str) -> dict[str, str]:
    """The path parameters (name → segment) of the ``method`` route ``path`` falls on by its shape, when the
    router matched none because a segment holds characters its routes do not take (``#``, ``×``): empty when
    ``path`` has no such route."""
    for route in _routes(app):
        if route.method != method or "<" not in route.path:
            continue
        shape = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", re.escape(route.path))
        match = re.fullmatch(shape, path.rstrip("/") or "/")
        if match:
            return match.groupdict()
    return {}


def path_ids(app: APIGatewayRestResolver, path: str) -> dict[str, str]:
    """The ``<..._id>`` segments of ``path`` as the routes name them, as sent."""
    found: dict[str, str] = {}
    for route in _routes(app):
        match = route.rule.match(path)
        if match:
            if not match.groupdict():
                return {}  # a literal route (/jobs/dry-run) wins over a parameter in the same place
            found.update({k: v for k, v in match.groupdict().items() if k.endswith("_id")})
    return found
