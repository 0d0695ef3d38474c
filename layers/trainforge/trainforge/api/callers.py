"""The caller of the request being served: its principal (from the door) resolved to a team or an
administrator, once per request."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from trainforge.errors import AccessDeniedError, SageMakerConfigurationError
from trainforge.repository.teams import TeamRow
from trainforge.runtime import Runtime
from trainforge.services.access import Caller, resolve_caller
from trainforge.settings import LOCAL_ADMIN_PRINCIPAL


def caller_of(runtime: Runtime, router: Router) -> Caller:
    """The request's caller; :class:`~trainforge.errors.AccessDeniedError` (403) for a principal of no team.
    Without a principal (local mode only lets one through), the caller is local mode's administrator."""
    known = router.context.get("caller")
    if isinstance(known, Caller):
        return known
    principal = router.context.get("principal") or LOCAL_ADMIN_PRINCIPAL
    caller = resolve_caller(runtime.database, str(principal), runtime.settings.admin_principals)
    router.context["caller"] = caller
    return caller


def submission_team(runtime: Runtime, caller: Caller, requested: str | None) -> TeamRow | None:
    """The team a new job or build is for: a member's own (naming another is refused), or the team an
    administrator names (None: an administrator's own, outside every team)."""
    from trainforge import repository

    if not caller.admin:
        if requested is not None and requested != caller.team_name:
            raise AccessDeniedError(f"{caller.principal} may submit only for its team ({caller.team_name})")
        return caller.team
    if requested is None:
        return None
    team = repository.get_team(runtime.database, requested)
    if team is None:
        raise SageMakerConfigurationError(f"team: there is no team {requested}", field="team")
    return team
