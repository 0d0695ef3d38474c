"""Teams: administrators define them; a member reads its own team and its usage. Another team answers 404, as a
job of another team does."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from trainforge.api.callers import caller_of
from trainforge.errors import TeamNotFoundError
from trainforge.models import api
from trainforge.models.api.teams import NotificationDeliveries, NotificationTest
from trainforge.models.rows import TeamRow
from trainforge.models.team_definitions import TEAM_NAME_PATTERN
from trainforge.runtime import Runtime
from trainforge.teams import management as teams
from trainforge.teams import notices
from trainforge.teams.access import visible_teams

TeamName = Annotated[str, Path(min_length=1, max_length=40, pattern=TEAM_NAME_PATTERN.pattern)]
Month = Annotated[
    str | None, Query(pattern=teams.MONTH_PATTERN.pattern, description="YYYY-MM; this month if absent")
]


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The teams routes, served by ``runtime``'s database."""
    router = Router()

    def visible_team(name: str) -> TeamRow:
        caller = caller_of(runtime, router)
        if not caller.admin and caller.team_name != name:
            raise TeamNotFoundError(f"no team {name}", field="name")
        return teams.find_team(runtime.database, name)

    def shown(team: TeamRow) -> api.Team:
        return api.Team.model_validate(
            teams.team_view(runtime.database, team, runtime.settings.dataset_prefix)
        )

    @router.get(
        "/me",
        summary="The caller: its principal, whether it administers Trainforge, and its team",
        tags=["teams"],
        operation_id="getCaller",
        responses=api.responses({200: (api.Caller, "who the API takes the caller for")}, 503),
    )
    def get_caller() -> api.Caller:
        caller = caller_of(runtime, router)
        return api.Caller(principal=caller.principal, admin=caller.admin, team=caller.team_name)

    @router.get(
        "/teams",
        summary="Teams: every team for administrators, a member's own team otherwise",
        tags=["teams"],
        operation_id="listTeams",
        responses=api.responses({200: (api.TeamList, "the teams the caller may see")}, 503),
    )
    def list_teams() -> api.TeamList:
        found = visible_teams(runtime.database, caller_of(runtime, router))
        return api.TeamList(teams=[shown(team) for team in found])

    @router.get(
        "/teams/<name>",
        summary="A team: its members, limits, and this month's spend",
        tags=["teams"],
        operation_id="getTeam",
        responses=api.responses({200: (api.Team, "the team")}, 404, 503),
    )
    def get_team(name: TeamName) -> api.Team:
        return shown(visible_team(name))

    @router.put(
        "/teams/<name>",
        summary="Create or replace a team (administrators)",
        tags=["teams"],
        operation_id="putTeam",
        responses=api.responses(
            {201: (api.Team, "the team, created"), 200: (api.Team, "the team, replaced")}, 400, 413, 415, 503
        ),
    )
    def put_team(name: TeamName, definition: api.TeamDefinition) -> Response[api.Team]:
        caller_of(runtime, router).require_admin("define teams")
        team, created = teams.save_team(runtime.database, name, definition.model_dump())
        logger.info("team saved", team=name, team_created=created)
        return Response(HTTPStatus.CREATED if created else HTTPStatus.OK, "application/json", shown(team))

    @router.delete(
        "/teams/<name>",
        summary="Delete a team whose jobs have all finished (administrators)",
        tags=["teams"],
        operation_id="deleteTeam",
        responses=api.responses({200: (api.TeamList, "the teams left")}, 404, 409, 503),
    )
    def delete_team(name: TeamName) -> api.TeamList:
        caller = caller_of(runtime, router)
        caller.require_admin("delete teams")
        teams.remove_team(runtime.database, name)
        return api.TeamList(teams=[shown(team) for team in visible_teams(runtime.database, caller)])

    @router.get(
        "/teams/<name>/usage",
        summary="A team's month: spend per day and per instance type against its budget, jobs by outcome",
        tags=["teams"],
        operation_id="getTeamUsage",
        responses=api.responses({200: (api.TeamUsage, "the month's usage")}, 404, 503),
    )
    def team_usage(name: TeamName, month: Month = None) -> api.TeamUsage:
        team = visible_team(name)
        return api.TeamUsage.model_validate(teams.usage(runtime.database, team, teams.parse_month(month)))

    @router.get(
        "/teams/<name>/notifications",
        summary="A team's last notices: each event and subscription, delivered, failed (and why) or being sent",
        tags=["teams"],
        operation_id="listTeamNotifications",
        responses=api.responses({200: (NotificationDeliveries, "the last 50, most recent first")}, 404, 503),
    )
    def team_notifications(name: TeamName) -> NotificationDeliveries:
        return NotificationDeliveries.model_validate(notices.deliveries(runtime.database, visible_team(name)))

    @router.post(
        "/teams/<name>/notifications/test",
        summary="Send a test notice to a team's subscriptions, through the same path as every event",
        tags=["teams"],
        operation_id="testTeamNotifications",
        responses=api.responses(
            {202: (NotificationTest, "queued: its deliveries appear under its event id")}, 400, 404, 503
        ),
    )
    def test_notifications(name: TeamName) -> Response[NotificationTest]:
        team = visible_team(name)
        sent = notices.send_test(runtime.database, team, caller_of(runtime, router).principal)
        logger.info("notification test queued", team=name, event_id=sent["event_id"])
        return Response(HTTPStatus.ACCEPTED, "application/json", NotificationTest.model_validate(sent))

    return router
