"""Container builds through CodeBuild: start, status, list."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from trainforge.api.callers import caller_of, submission_team
from trainforge.api.parameters import BuildId, Cursor, Limit
from trainforge.models import api
from trainforge.models.rules import IMAGE_TAG
from trainforge.models.status import BuildStatus
from trainforge.runtime import Runtime


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The builds routes, served by ``runtime``'s settings, database and services."""
    router = Router()

    @router.post(
        "/builds",
        summary="Build a training image with CodeBuild",
        tags=["builds"],
        operation_id="startBuild",
        responses=api.responses({202: (api.Build, "the build, queued")}, 400, 413, 415, 502, 503),
    )
    def create_build(request: api.BuildRequest) -> Response[api.Build]:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.builds.records import get_build, start_build

        db = runtime.database
        caller = caller_of(runtime, router)
        team = submission_team(runtime, caller, None)
        build_id, _ = start_build(
            db,
            runtime.builder(),
            base_image=request.base_image,
            tag=request.tag,
            files=request.files,
            entry_point=request.entry_point,
            team=team.name if team is not None else None,
            submitted_by=caller.principal,
        )
        body = api.Build.model_validate(get_build(db, build_id))
        return Response(HTTPStatus.ACCEPTED, "application/json", body)

    @router.get(
        "/builds/<build_id>",
        summary="A container build",
        tags=["builds"],
        operation_id="getBuild",
        responses=api.responses({200: (api.Build, "the build")}, 404, 503),
    )
    def build_status(build_id: BuildId) -> api.Build:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.builds.records import get_build

        caller = caller_of(runtime, router)
        return api.Build.model_validate(get_build(runtime.database, build_id, caller.sees))

    @router.get(
        "/builds",
        summary="Container builds, newest first",
        tags=["builds"],
        operation_id="listBuilds",
        responses=api.responses({200: (api.BuildPage, "a page of builds and the next page's cursor")}, 503),
    )
    def list_builds(
        cursor: Cursor = None,
        limit: Limit = 50,
        tag: Annotated[
            str | None, Query(pattern=IMAGE_TAG, description="only builds of this image tag")
        ] = None,
        status: Annotated[BuildStatus | None, Query(description="only builds in it")] = None,
    ) -> api.BuildPage:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.builds.records import builds_page

        team = caller_of(runtime, router).scope(None)
        page = builds_page(
            runtime.database, cursor=cursor, limit=limit, team=team, tag=tag, status=status and status.value
        )
        return api.BuildPage.model_validate(page)

    return router
