"""The caller of the request being served: its principal (from the door) resolved to a team or an
administrator, once per request."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from trainforge.models.rows import TeamRow
from trainforge.runtime import Runtime
from trainforge.settings import LOCAL_ADMIN_PRINCIPAL
from trainforge.teams import access
from trainforge.teams.access import Caller, resolve_caller


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
    """The team a new job or build is for (:func:`trainforge.teams.access.submission_team`)."""
    return access.submission_team(runtime.database, caller, requested)
