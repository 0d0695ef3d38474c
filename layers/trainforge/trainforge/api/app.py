"""The API as one resolver: the resource routers, the error envelope, 405 for a known path's other methods, the
OpenAPI document (with only what the API sends) and Swagger UI."""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from trainforge import __version__
from trainforge.api.door import allowed_methods, unmatched_parameters
from trainforge.api.errors import error, register_error_handlers
from trainforge.api.routes import builds, capacity, datasets, job_activity, jobs, setup, teams, tuning
from trainforge.runtime import Runtime

TITLE = "Trainforge"
DESCRIPTION = """The REST API: API Gateway proxy requests, validated against the models that generate this
document. Every error is JSON ``{"error": {"code", "message", "field"?, "problems"?}}`` with the right status;
nothing a client sends yields a 500."""


def build_api(runtime: Runtime, logger: Logger, metrics: Metrics) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app, logger)
    for resource in (setup, datasets, jobs, job_activity, builds, capacity, teams, tuning):
        app.include_router(resource.router(runtime, logger, metrics))

    @app.not_found
    def no_route(exc: Exception) -> Response[Any]:
        method, path = app.current_event.http_method, app.current_event.path
        allowed = allowed_methods(app, path)
        if allowed:
            return error(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "method_not_allowed",
                f"{path} answers {', '.join(allowed)}, not {method}",
                headers={"Allow": ", ".join(allowed)},
            )
        unmatched = unmatched_parameters(app, method, path)
        if (
            unmatched
        ):  # an operation's path whose parameter no value of it could be: named, as validation does
            name, value = next(iter(unmatched.items()))
            return error(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "invalid_parameter",
                f"{name}: {value!r} holds characters no {name} can",
                field=name,
            )
        return error(HTTPStatus.NOT_FOUND, "no_route", f"no route {method} {path}")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> Response[Any]:
        return Response(status_code=200, content_type="application/json", body=openapi_json(app))

    @app.get("/swagger", include_in_schema=False)
    def swagger_ui() -> Response[Any]:
        # Powertools' enable_swagger() imports the OpenAPI models at init (+0.3x an `import boto3` on every
        # cold start): the page is built here, on request, from the same document as /openapi.json.
        return Response(status_code=200, content_type="text/html", body=swagger_html(openapi_json(app)))

    return app


def openapi_json(app: APIGatewayRestResolver) -> str:
    document = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=__version__, description=DESCRIPTION)
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


def swagger_html(document: str) -> str:
    """Powertools' Swagger UI page for ``document``, its script and style inlined (no CDN needed)."""
    # the Swagger UI only for /swagger: a cold start does not load it
    from aws_lambda_powertools.event_handler import openapi
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(openapi.__file__).parent / "swagger_ui"
    return generate_swagger_html(
        document.replace("</", "<\\/"),  # a "</script>" inside the JSON must not end the page's script
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
