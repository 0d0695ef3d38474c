"""Managing teams (administrators) and reading a team's month: its definition, spend and usage."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from trainforge import repository
from trainforge.connection import Database
from trainforge.errors import Problem, SageMakerConfigurationError, TeamBusyError, TeamNotFoundError
from trainforge.models.rows import TeamRow
from trainforge.models.team_definitions import parse_team
from trainforge.teams.budgets import this_month

MONTH_PATTERN = re.compile(r"^(?P<year>20\d\d)-(?P<month>0[1-9]|1[0-2])$")


def _usd(amount: Decimal | None) -> float | None:
    return float(amount) if amount is not None else None


def parse_month(text: str | None) -> date:
    """``2026-11`` as its first day; None: this month."""
    if text is None:
        return this_month()
    match = MONTH_PATTERN.fullmatch(text)
    if not match:
        raise SageMakerConfigurationError.from_problems([Problem("month", "must be YYYY-MM, like 2026-11")])
    return date(int(match["year"]), int(match["month"]), 1)


def team_view(db: Database, team: TeamRow, dataset_prefix: str) -> dict[str, Any]:
    month = this_month()
    spent, committed = repository.month_spend(db, team.name, month)
    budget = team.monthly_budget_usd
    return {
        "name": team.name,
        "dataset_prefix": f"{dataset_prefix}{team.name}/",
        "members": list(team.members),
        "monthly_budget_usd": _usd(budget),
        "max_instances_in_flight": team.max_instances_in_flight,
        "allowed_instance_types": team.allowed_instance_types,
        "max_runtime_seconds": team.max_runtime_seconds,
        "notifications": [{k: v for k, v in n.items() if v not in (None, [])} for n in team.notifications],
        "instances_in_flight": team.instances_in_flight,
        "this_month": {
            "month": month.strftime("%Y-%m"),
            "spent_usd": float(spent),
            "committed_usd": float(committed),
            "remaining_usd": float(budget - spent - committed) if budget is not None else None,
        },
    }


def save_team(db: Database, name: str, values: dict[str, Any]) -> tuple[TeamRow, bool]:
    """Create or replace team ``name`` from a definition (validated like ``teams.json``); (team, created)."""
    definition = parse_team({k: v for k, v in values.items() if v is not None or k == "name"}, name=name)
    return repository.upsert_team(db, definition.to_dict())


def find_team(db: Database, name: str) -> TeamRow:
    team = repository.get_team(db, name)
    if team is None:
        raise TeamNotFoundError(f"no team {name}", field="name")
    return team


def remove_team(db: Database, name: str) -> None:
    outcome = repository.delete_team(db, name)
    if outcome == "missing":
        raise TeamNotFoundError(f"no team {name}", field="name")
    if outcome == "busy":
        raise TeamBusyError(
            f"team {name} has jobs that have not finished: delete it when they have", field="name"
        )


def usage(db: Database, team: TeamRow, month: date) -> dict[str, Any]:
    """The month's spend per day and per instance type against the budget, and its jobs by outcome."""
    spent, committed = repository.month_spend(db, team.name, month)
    rows = repository.usage_rows(db, team.name, month)
    return {
        "team": team.name,
        "month": month.strftime("%Y-%m"),
        "monthly_budget_usd": _usd(team.monthly_budget_usd),
        "spent_usd": float(spent),
        "committed_usd": float(committed),
        "by_day": [
            {"day": row["day"].isoformat(), "usd": float(row["usd"]), "jobs": int(row["jobs"])}
            for row in rows["by_day"]
        ],
        "by_instance_type": [
            {"instance_type": row["instance_type"], "usd": float(row["usd"]), "jobs": int(row["jobs"])}
            for row in rows["by_instance_type"]
        ],
        "jobs_by_outcome": {row["status"]: int(row["jobs"]) for row in rows["by_outcome"]},
    }
