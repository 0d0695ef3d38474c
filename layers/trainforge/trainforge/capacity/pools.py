"""The pools as the queue page shows them: each pool's quota and instances in use, and its waiting jobs with their
place in line and how long they have waited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trainforge import repository
from trainforge.connection import Database


def pools_view(db: Database, team: str | None) -> dict[str, Any]:
    """Every pool, each with the waiting jobs of ``team`` (every team's when None). The counts are every team's:
    a member sees how long the line is, not whose jobs are in it."""
    waiting: dict[str, list[dict[str, Any]]] = {}
    for job in repository.waiting_jobs(db, team):
        waiting.setdefault(job.pool, []).append(
            {
                "id": job.id,
                "job_name": job.job_name,
                "team": job.team,
                "priority": job.priority,
                "position": job.position,
                "waiting_since": _iso(job.waiting_since),
            }
        )
    return {
        "pools": [
            {
                "pool": state.pool,
                "instance_type": state.instance_type,
                "spot": state.spot,
                "quota": state.quota,
                "quota_source": state.quota_source,
                "quota_read_at": _iso(state.quota_read_at),
                "in_use": state.in_use,
                "limit": state.limit,
                "waiting": state.waiting,
                "jobs": waiting.get(state.pool, []),
            }
            for state in repository.pool_states(db)
        ]
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None
