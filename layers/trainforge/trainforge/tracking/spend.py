"""What a finished job cost its team, as the dashboard's spend per team counts it (the ledger stays the truth)."""

from __future__ import annotations

from trainforge import repository
from trainforge.connection import Database


def team_spend(db: Database, job_id: int) -> tuple[str, float] | None:
    """The job's team and its report's estimated cost; None for a job of no team or without a cost."""
    job = repository.get_job(db, job_id)
    if job is None or job.team is None:
        return None
    report = repository.report_of(db, job_id)
    if report is None or report.estimated_cost_usd is None:
        return None
    return job.team, float(report.estimated_cost_usd)
