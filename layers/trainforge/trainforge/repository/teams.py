"""Teams: their definitions, each month's spend and commitments, and the instances their jobs hold.

A team's money and instances move only through guarded statements, as a pool's instances do
(:mod:`trainforge.repository.capacity`): the row being changed is the one the guard reads, so PostgreSQL
re-evaluates the guard on the row as a concurrent statement left it, and two jobs racing for the last dollars
(or the last instance) cannot both pass. A job's own ``budget_held_usd`` and ``team_instances_held`` are set and
cleared in the same statement as the team's figures, so nothing is counted twice nor lost on redelivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from trainforge.connection import Database, json_param
from trainforge.models.rows import TeamRow
from trainforge.models.status import TERMINAL_RANK

_TEAM_COLUMNS = (
    "name, members, monthly_budget_usd, max_instances_in_flight, allowed_instance_types, max_runtime_seconds, "
    "notifications, instances_in_flight, created_at, updated_at"
)


@dataclass(frozen=True)
class BudgetCommitment:
    """What committing a job's ceiling found: whether it was committed, and the month's figures."""

    committed: bool
    budget: Decimal | None
    spent: Decimal
    committed_usd: Decimal


_UPSERT_TEAM = f"""
INSERT INTO teams AS t (name, members, monthly_budget_usd, max_instances_in_flight, allowed_instance_types,
    max_runtime_seconds, notifications)
VALUES (:name, CAST(:members AS jsonb), :monthly_budget_usd, :max_instances_in_flight,
    CAST(:allowed_instance_types AS jsonb), :max_runtime_seconds, CAST(:notifications AS jsonb))
ON CONFLICT (name) DO UPDATE SET members = EXCLUDED.members, monthly_budget_usd = EXCLUDED.monthly_budget_usd,
    max_instances_in_flight = EXCLUDED.max_instances_in_flight,
    allowed_instance_types = EXCLUDED.allowed_instance_types, max_runtime_seconds = EXCLUDED.max_runtime_seconds,
    notifications = EXCLUDED.notifications, updated_at = now()
RETURNING {_TEAM_COLUMNS}, (xmax = 0) AS created
"""


# A job's projected ceiling against its team's month: committed only when spent + committed + ceiling stays
# within the budget (no budget: always), in the statement that reads them.
def _commit_budget(table: str) -> str:
    """The guarded commitment for a row of ``table`` (a training job, or a tuning job for all its trials)."""
    return f"""
WITH job AS (
    SELECT id FROM {table} WHERE id = :id AND budget_month IS NULL FOR UPDATE
), team AS (
    SELECT monthly_budget_usd AS budget FROM teams WHERE name = :team
), committed AS (
    UPDATE team_spend s SET committed_usd = s.committed_usd + CAST(:ceiling AS numeric), updated_at = now()
    FROM job, team
    WHERE s.team = :team AND s.month = CAST(:month AS date)
      AND (team.budget IS NULL OR s.spent_usd + s.committed_usd + CAST(:ceiling AS numeric) <= team.budget)
    RETURNING s.spent_usd, s.committed_usd
), held AS (
    UPDATE {table} j SET budget_held_usd = CAST(:ceiling AS numeric), budget_month = CAST(:month AS date),
        updated_at = now()
    FROM committed WHERE j.id = :id
    RETURNING j.id
)
SELECT EXISTS (SELECT 1 FROM held) AS ok, (SELECT budget FROM team) AS budget,
    COALESCE((SELECT spent_usd FROM committed), s.spent_usd) AS spent,
    COALESCE((SELECT committed_usd FROM committed), s.committed_usd) AS committed_usd
FROM team_spend s WHERE s.team = :team AND s.month = CAST(:month AS date)
"""


_COMMIT_BUDGET = {table: _commit_budget(table) for table in ("training_jobs", "tuning_jobs")}


# A finished job gives back its commitment and books what it cost (its report's estimate, when known), once. A
# tuning job's trial holds nothing itself: its cost moves from its tuning job's commitment to the month's spend
# (while the tuning job holds one; after its release, the trial's cost is booked alone), so a trial reported
# late is booked all the same, and the tuning job gives back what its trials did not spend.
def _release_budget(table: str, cost: str) -> str:
    """Give back a finished row's commitment and book ``cost`` (SQL over the row ``j``), once."""
    trials = table == "training_jobs"
    tuning = (
        """, tuning AS (
    SELECT t.id, LEAST(b.cost, t.budget_held_usd) AS drawn
    FROM tuning_jobs t JOIN before b ON lower(t.name) = b.tuning_job_name
    WHERE t.team = b.team AND t.budget_month = b.budget_month AND t.budget_released_at IS NULL
    FOR UPDATE OF t
), drawn AS (
    UPDATE tuning_jobs t SET budget_held_usd = t.budget_held_usd - d.drawn FROM tuning d WHERE t.id = d.id
    RETURNING t.id
)"""
        if trials
        else ""
    )
    drawn = " - COALESCE((SELECT drawn FROM tuning), 0)" if trials else ""
    return f"""
WITH before AS (
    SELECT j.id, j.team, j.budget_month, j.budget_held_usd, {cost} AS cost{", j.tuning_job_name" if trials else ""}
    FROM {table} j
    WHERE j.id = :id AND j.budget_month IS NOT NULL AND j.budget_released_at IS NULL AND j.status_rank >= :terminal
      AND j.team IS NOT NULL
    FOR UPDATE OF j
){tuning}, cleared AS (
    UPDATE {table} j SET budget_held_usd = 0, budget_released_at = now() FROM before b WHERE j.id = b.id
    RETURNING j.id
), booked AS (
    UPDATE team_spend s SET committed_usd = GREATEST(s.committed_usd - b.budget_held_usd{drawn}, 0),
        spent_usd = s.spent_usd + b.cost, updated_at = now()
    FROM before b WHERE s.team = b.team AND s.month = b.budget_month
    RETURNING s.team
)
SELECT team FROM booked
"""


# A finished job books its report's estimate (a trial included); a finished tuning job only gives back what its
# trials did not draw from its commitment.
_RELEASE_BUDGET = {
    "training_jobs": _release_budget(
        "training_jobs",
        "COALESCE((SELECT r.estimated_cost_usd FROM training_reports r WHERE r.job_id = j.id), 0)",
    ),
    "tuning_jobs": _release_budget("tuning_jobs", "0"),
}

# A team's instance limit: the job takes its instances from the team's count when they fit.
_TAKE_INSTANCES = """
WITH job AS (
    SELECT id, team, COALESCE(instance_count, 1) AS n FROM training_jobs
    WHERE id = :id AND team_instances_held = 0 AND status_rank < :terminal AND team IS NOT NULL
    FOR UPDATE
), taken AS (
    UPDATE teams t SET instances_in_flight = t.instances_in_flight + job.n
    FROM job WHERE t.name = job.team
      AND (t.max_instances_in_flight IS NULL OR t.instances_in_flight + job.n <= t.max_instances_in_flight)
    RETURNING job.id, job.n
), held AS (
    UPDATE training_jobs j SET team_instances_held = t.n FROM taken t WHERE j.id = t.id RETURNING j.id
)
SELECT EXISTS (SELECT 1 FROM held) AS ok,
    (SELECT 'team ' || t.name || ': ' || t.instances_in_flight || ' of ' || t.max_instances_in_flight
        || ' instances in flight (its max_instances_in_flight)'
     FROM teams t JOIN job ON t.name = job.team) AS detail
"""

_RELEASE_INSTANCES = """
WITH before AS (
    SELECT id, team, team_instances_held FROM training_jobs
    WHERE id = :id AND team_instances_held > 0 AND status_rank >= :terminal
    FOR UPDATE
), cleared AS (
    UPDATE training_jobs j SET team_instances_held = 0 FROM before b WHERE j.id = b.id RETURNING j.id
), released AS (
    UPDATE teams t SET instances_in_flight = GREATEST(t.instances_in_flight - b.team_instances_held, 0)
    FROM before b WHERE t.name = b.team
    RETURNING t.name
)
SELECT name FROM released
"""

# Waiting jobs of a team that have not yet been given its instances, in admission order.
_WAITING_FOR_TEAM = """
SELECT id FROM training_jobs
WHERE team = :team AND status = 'WaitingForCapacity' AND team_instances_held = 0
ORDER BY priority DESC, created_at, id
LIMIT :limit
"""


def _team(row: dict[str, Any]) -> TeamRow:
    return TeamRow(**{name: row[name] for name in TeamRow.__dataclass_fields__})


def upsert_team(db: Database, values: dict[str, Any]) -> tuple[TeamRow, bool]:
    """Create or replace a team's definition; (team, created). What it holds is kept."""
    params = dict(values)
    params["members"] = json_param(values["members"])
    params["notifications"] = json_param(values.get("notifications") or [])
    types = values.get("allowed_instance_types")
    params["allowed_instance_types"] = json_param(types) if types is not None else None
    (row,) = db.rows(_UPSERT_TEAM, params)
    return _team(row), bool(row["created"])


def get_team(db: Database, name: str) -> TeamRow | None:
    rows = db.rows(f"SELECT {_TEAM_COLUMNS} FROM teams WHERE name = :name", {"name": name})
    return _team(rows[0]) if rows else None


def list_teams(db: Database) -> list[TeamRow]:
    return [_team(row) for row in db.rows(f"SELECT {_TEAM_COLUMNS} FROM teams ORDER BY name", {})]


def delete_team(db: Database, name: str) -> str:
    """``deleted``, ``missing``, or ``busy`` (its jobs still hold money or instances: it stays)."""
    rows = db.rows(
        "WITH busy AS (SELECT 1 FROM training_jobs WHERE team = :name AND status_rank < :terminal LIMIT 1), "
        "gone AS (DELETE FROM teams WHERE name = :name AND NOT EXISTS (SELECT 1 FROM busy) RETURNING name) "
        "SELECT EXISTS (SELECT 1 FROM gone) AS deleted, EXISTS (SELECT 1 FROM busy) AS busy",
        {"name": name, "terminal": TERMINAL_RANK},
    )
    if rows[0]["deleted"]:
        return "deleted"
    return "busy" if rows[0]["busy"] else "missing"


def commit_budget(
    db: Database, job_id: int, team: str, month: date, ceiling: Decimal, table: str = "training_jobs"
) -> BudgetCommitment:
    """Commit ``ceiling`` for the job (or tuning job) against its team's month, when it fits."""
    db.rows(
        "INSERT INTO team_spend (team, month) VALUES (:team, CAST(:month AS date)) ON CONFLICT DO NOTHING",
        {"team": team, "month": month},
    )
    rows = db.rows(_COMMIT_BUDGET[table], {"id": job_id, "team": team, "month": month, "ceiling": ceiling})
    if not rows:  # the team was deleted meanwhile
        return BudgetCommitment(False, None, Decimal(0), Decimal(0))
    row = rows[0]
    return BudgetCommitment(bool(row["ok"]), row["budget"], row["spent"], row["committed_usd"])


def release_budget(db: Database, job_id: int, table: str = "training_jobs") -> str | None:
    """Book a finished job's (or tuning job's) cost and give back its commitment; its team, or None (nothing
    held: already released, never committed, or not finished)."""
    rows = db.rows(_RELEASE_BUDGET[table], {"id": job_id, "terminal": TERMINAL_RANK})
    return str(rows[0]["team"]) if rows else None


def take_team_instances(db: Database, job_id: int) -> tuple[bool, str | None]:
    """(taken, why not): the job's instances against its team's max_instances_in_flight."""
    (row,) = db.rows(_TAKE_INSTANCES, {"id": job_id, "terminal": TERMINAL_RANK})
    return bool(row["ok"]), row["detail"]


def release_team_instances(db: Database, job_id: int) -> str | None:
    rows = db.rows(_RELEASE_INSTANCES, {"id": job_id, "terminal": TERMINAL_RANK})
    return str(rows[0]["name"]) if rows else None


def waiting_for_team(db: Database, team: str, limit: int = 20) -> list[int]:
    return [int(r["id"]) for r in db.rows(_WAITING_FOR_TEAM, {"team": team, "limit": limit})]


def teams_with_waiting_jobs(db: Database) -> list[str]:
    rows = db.rows(
        "SELECT DISTINCT team FROM training_jobs WHERE status = 'WaitingForCapacity' AND team IS NOT NULL "
        "AND team_instances_held = 0",
        {},
    )
    return [str(row["team"]) for row in rows]


def finished_jobs_holding_team_resources(db: Database, limit: int = 100) -> list[int]:
    """Jobs that ended but still hold money or instances (their release was interrupted): the sweep frees them."""
    rows = db.rows(
        "SELECT id FROM training_jobs WHERE status_rank >= :terminal AND team IS NOT NULL "
        "AND (team_instances_held > 0 OR (budget_month IS NOT NULL AND budget_released_at IS NULL)) "
        "ORDER BY id LIMIT :limit",
        {"terminal": TERMINAL_RANK, "limit": limit},
    )
    return [int(row["id"]) for row in rows]


def forget_job(db: Database, job_id: int) -> None:
    """A job refused before it was accepted leaves no row (nothing it held: it held nothing yet)."""
    db.rows(
        "DELETE FROM training_jobs WHERE id = :id AND budget_month IS NULL AND team_instances_held = 0 "
        "AND capacity_held = 0",
        {"id": job_id},
    )


def month_spend(db: Database, team: str, month: date) -> tuple[Decimal, Decimal]:
    rows = db.rows(
        "SELECT spent_usd, committed_usd FROM team_spend WHERE team = :team AND month = CAST(:month AS date)",
        {"team": team, "month": month},
    )
    return (rows[0]["spent_usd"], rows[0]["committed_usd"]) if rows else (Decimal(0), Decimal(0))


# A job counts in one month, the month it was accepted (its budget_month, set in the statement that committed its
# ceiling), in every figure; a job never accepted (refused, or started outside Trainforge) counts in the month it
# was recorded. Its cost is drawn on the day it ended, or on its month's last day when it ended after that month
# closed. Days and months are UTC's, whatever the session's time zone.
_JOB_MONTH = "COALESCE(j.budget_month, CAST(date_trunc('month', j.created_at AT TIME ZONE 'UTC') AS date))"
_COST_DAY = (
    "GREATEST(CAST(:month AS date), LEAST(CAST(CAST(:month AS date) + interval '1 month' - interval '1 day' AS date), "
    "CAST(COALESCE(j.ended_at, j.updated_at) AT TIME ZONE 'UTC' AS date)))"
)


def usage_rows(db: Database, team: str, month: date) -> dict[str, list[dict[str, Any]]]:
    """The month's jobs of a team: cost per day and per instance type (finished jobs) and jobs by outcome, each
    job in the month it was accepted."""
    params = {"team": team, "month": month, "terminal": TERMINAL_RANK}
    window = f"j.team = :team AND {_JOB_MONTH} = CAST(:month AS date)"
    by_day = db.rows(
        f"SELECT {_COST_DAY} AS day, sum(COALESCE(r.estimated_cost_usd, 0)) AS usd, count(*) AS jobs "
        "FROM training_jobs j LEFT JOIN training_reports r ON r.job_id = j.id "
        f"WHERE {window} AND j.status_rank >= :terminal GROUP BY 1 ORDER BY 1",
        params,
    )
    by_type = db.rows(
        "SELECT COALESCE(j.instance_type, '?') AS instance_type, sum(COALESCE(r.estimated_cost_usd, 0)) AS usd, "
        "count(*) AS jobs FROM training_jobs j LEFT JOIN training_reports r ON r.job_id = j.id "
        f"WHERE {window} AND j.status_rank >= :terminal GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    )
    by_outcome = db.rows(
        f"SELECT j.status, count(*) AS jobs FROM training_jobs j WHERE {window} GROUP BY 1 ORDER BY 1", params
    )
    return {"by_day": by_day, "by_instance_type": by_type, "by_outcome": by_outcome}
