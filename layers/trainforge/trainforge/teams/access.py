"""Who is calling: a team's member, an administrator, or nobody Trainforge knows; and what each may see.

The rules, in one place:

- an administrator (a principal matching the configured administrator patterns) sees and touches everything,
  manages teams, and may filter by team;
- a team's member sees and touches only the team's jobs and builds; another team's job or build answers 404
  (not 403), so ids reveal nothing;
- anyone else is refused with a 403 that says they belong to no team.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trainforge import repository
from trainforge.connection import Database
from trainforge.errors import AccessDeniedError, SageMakerConfigurationError
from trainforge.models.rows import TeamRow
from trainforge.models.team_definitions import principal_matches


@dataclass(frozen=True)
class Caller:
    principal: str
    admin: bool
    team: TeamRow | None

    @property
    def team_name(self) -> str | None:
        return self.team.name if self.team is not None else None

    def sees(self, owner: str | None) -> bool:
        """Whether a job or build of team ``owner`` exists for this caller."""
        return self.admin or (self.team is not None and owner == self.team.name)

    def scope(self, requested: str | None = None) -> str | None:
        """The team a listing is limited to: the member's own; for an administrator, the one asked for (None:
        every team). A member asking for another team gets their own: a listing never widens."""
        return requested if self.admin else self.team_name

    def require_admin(self, action: str) -> None:
        if not self.admin:
            raise AccessDeniedError(f"only Trainforge administrators may {action}")


def is_admin(principal: str, admin_patterns: Iterable[str]) -> bool:
    return any(principal_matches(pattern, principal) for pattern in admin_patterns)


def team_of_principal(db: Database, principal: str) -> TeamRow | None:
    """The first team (by name) that has ``principal`` as a member."""
    for team in repository.list_teams(db):
        if any(principal_matches(pattern, principal) for pattern in team.members):
            return team
    return None


def resolve_caller(db: Database, principal: str, admin_patterns: Iterable[str]) -> Caller:
    """The caller, or :class:`AccessDeniedError` (403) when the principal is in no team and not an administrator."""
    team = team_of_principal(db, principal)
    admin = is_admin(principal, admin_patterns)
    if team is None and not admin:
        raise AccessDeniedError(
            f"{principal} belongs to no Trainforge team: ask an administrator to add it to a team's members"
        )
    return Caller(principal=principal, admin=admin, team=team)


def submission_team(db: Database, caller: Caller, requested: str | None) -> TeamRow | None:
    """The team a new job or build is for: a member's own (naming another is refused), or the team an
    administrator names (None: an administrator's own, outside every team)."""
    if not caller.admin:
        if requested is not None and requested != caller.team_name:
            raise AccessDeniedError(f"{caller.principal} may submit only for its team ({caller.team_name})")
        return caller.team
    if requested is None:
        return None
    team = repository.get_team(db, requested)
    if team is None:
        raise SageMakerConfigurationError(f"team: there is no team {requested}", field="team")
    return team


def visible_teams(db: Database, caller: Caller) -> list[TeamRow]:
    """Every team for an administrator; a member's own team."""
    if caller.admin:
        return repository.list_teams(db)
    return [caller.team] if caller.team is not None else []
