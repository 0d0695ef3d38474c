"""A team's limits on a job: instance types and runtime (checked when the job is accepted), its monthly budget
(the job's projected ceiling committed when it is accepted, in one guarded statement), and its instances in
flight (a job over the limit waits, as for capacity). What a finished job held is given back once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from trainforge import repository
from trainforge.connection import Database
from trainforge.errors import BudgetExceededError, Problem, TeamLimitError
from trainforge.models.rows import TeamRow


def this_month(now: datetime | None = None) -> date:
    moment = now or datetime.now(UTC)
    return date(moment.year, moment.month, 1)


def _usd(amount: Decimal | None) -> str:
    return f"${(amount or Decimal(0)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def limit_problems(team: TeamRow, config: dict[str, Any]) -> list[Problem]:
    """What in the job breaks its team's instance-type or runtime limits."""
    problems: list[Problem] = []
    kind = config.get("instance_type")
    if team.allowed_instance_types is not None and kind not in team.allowed_instance_types:
        problems.append(
            Problem(
                "instance_type",
                f"team {team.name} may use only {', '.join(team.allowed_instance_types)}, not {kind}",
            )
        )
    runtime = config.get("max_runtime_seconds")
    if (
        team.max_runtime_seconds is not None
        and isinstance(runtime, int)
        and runtime > team.max_runtime_seconds
    ):
        problems.append(
            Problem(
                "max_runtime_seconds",
                f"team {team.name} allows at most {team.max_runtime_seconds} s per job, not {runtime}",
            )
        )
    return problems


def check_limits(team: TeamRow, config: dict[str, Any]) -> None:
    problems = limit_problems(team, config)
    if problems:
        raise TeamLimitError("; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)


def _refusal(
    team: TeamRow, spent: Decimal, committed: Decimal, ceiling: Decimal | None
) -> BudgetExceededError:
    if ceiling is None:
        message = (
            f"team {team.name}'s monthly budget is {_usd(team.monthly_budget_usd)} and this job has no projected "
            "ceiling (no price is known for its instance type, or it sets no time limit), so it cannot be held "
            "to the budget"
        )
    else:
        message = (
            f"team {team.name}'s monthly budget is {_usd(team.monthly_budget_usd)}: {_usd(spent)} spent, "
            f"{_usd(committed)} committed by jobs in flight, and this job's projected ceiling is {_usd(ceiling)} "
            f"({_usd(spent + committed + ceiling)} in all): lower the ceiling (instance type, count or "
            "max_runtime_seconds) or wait for jobs in flight to end"
        )
    return BudgetExceededError(message, field="monthly_budget_usd")


def projected_check(db: Database, team: TeamRow, ceiling: Decimal | None, month: date | None = None) -> None:
    """The budget check without committing (the dry run): :class:`BudgetExceededError` when it would fail."""
    if team.monthly_budget_usd is None:
        return
    spent, committed = repository.month_spend(db, team.name, month or this_month())
    if ceiling is None or spent + committed + ceiling > team.monthly_budget_usd:
        raise _refusal(team, spent, committed, ceiling)


def commit_ceiling(
    db: Database, job_id: int, team: TeamRow, ceiling: Decimal | None, table: str = "training_jobs"
) -> None:
    """Commit the job's ceiling (a tuning job's: all its trials') against its team's month, or
    :class:`BudgetExceededError` (nothing committed)."""
    if ceiling is None and team.monthly_budget_usd is not None:
        spent, committed = repository.month_spend(db, team.name, this_month())
        raise _refusal(team, spent, committed, None)
    found = repository.commit_budget(db, job_id, team.name, this_month(), ceiling or Decimal(0), table)
    if not found.committed:
        raise _refusal(team, found.spent, found.committed_usd, ceiling)


def take_instances(db: Database, job_id: int) -> tuple[bool, str | None]:
    """The job's instances against its team's limit: (taken, why it waits)."""
    return repository.take_team_instances(db, job_id)


def release_job(db: Database, job_id: int) -> str | None:
    """A finished job gives back its team's money and instances (once); the team whose instances it freed."""
    repository.release_budget(db, job_id)
    return repository.release_team_instances(db, job_id)
