"""Capacity: a job waits for instances instead of failing when its pool is full.

A pool is an instance type, on-demand or spot (they have separate quotas). A recorded job is admitted before it
is sent when nobody waits ahead of it and its pool has room (the account's quota from Service Quotas, minus the
instances Trainforge's admitted jobs hold, lowered for a while when SageMaker's own refusal showed others use
some); otherwise it enters ``WaitingForCapacity`` with the reason. SageMaker answering ``ResourceLimitExceeded``
for an instance quota puts it back there. When a job ends (its terminal event), and on the schedule, the pool's
waiting jobs are admitted in order (priority, then age) and their submission requested. Each step is one guarded
statement (see :mod:`trainforge.repository.capacity`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from trainforge import repository
from trainforge.capacity.prices import refresh_prices
from trainforge.connection import Database
from trainforge.models.rows import JobRow
from trainforge.repository.capacity import Admission
from trainforge.teams.budgets import release_job

Notify = Callable[[int], None]

QUOTA_REFRESH = timedelta(hours=1)
PRICE_REFRESH = timedelta(hours=24)

# Service Quotas' names for SageMaker's training instance quotas.
QUOTA_NAME = re.compile(r"^(?P<type>ml\.[a-z0-9-]+\.[a-z0-9]+) for (?P<spot>spot )?training job usage$")
# SageMaker's ResourceLimitExceeded for an instance quota, e.g. "The account-level service limit 'ml.p3.2xlarge
# for training job usage' is 2 Instances, with current utilization of 2 Instances and a request delta of 1
# Instances. Please use AWS Service Quotas to request an increase for this quota."
LIMIT_MESSAGE = re.compile(
    r"service limit '(?P<name>[^']+ for (?:spot )?training job usage)' is (?P<limit>\d+)(?: Instances?)?"
    r"(?:, with current utilization of (?P<used>\d+) Instances?)?"
)
INSTANCE_QUOTA_HINT = re.compile(r"for (spot )?training job usage")


def pool_of(instance_type: str, spot: bool) -> str:
    return f"{instance_type}/spot" if spot else instance_type


def pool_of_job(job: JobRow) -> str | None:
    if job.capacity_pool:
        return job.capacity_pool
    return job.instance_type  # a job Trainforge did not send: its on-demand pool


@dataclass(frozen=True)
class CapacityRefusal:
    """SageMaker's ResourceLimitExceeded for an instance quota, with its figures when the message gives them."""

    message: str
    quota: int | None = None
    used: int | None = None

    def never_fits(self, instances: int) -> bool:
        """The quota itself is smaller than the job: waiting cannot help."""
        return self.quota is not None and self.quota < instances

    @classmethod
    def parse(cls, message: str) -> CapacityRefusal | None:
        """The refusal, or None when the limit is not an instance quota (those fail the job as before)."""
        match = LIMIT_MESSAGE.search(message)
        if match:
            used = match.group("used")
            return cls(message, int(match.group("limit")), int(used) if used is not None else None)
        if INSTANCE_QUOTA_HINT.search(message):
            return cls(message)
        return None


def admit(db: Database, job: JobRow, default_max_queue: int) -> Admission:
    """Admit a recorded job, or queue it, or fail it when it can never run (one statement; a pool seen for the
    first time gets its row first). A team's job first takes its instances from the team's limit, and waits for
    them when the team is at its limit."""
    if job.team is not None and job.team_instances_held == 0:
        taken, detail = repository.take_team_instances(db, job.id)
        if not taken:
            reason = detail or f"team {job.team}'s instances are in use"
            if repository.wait_for_team(db, job.id, reason):
                return Admission("queued", reason)
            return Admission("not_pending")
    result = repository.admit_new(db, job.id, default_max_queue)
    if result.outcome == "no_pool":
        spot = bool((job.config or {}).get("use_spot_instances"))
        repository.ensure_pool(db, job.capacity_pool or "", job.instance_type or "", spot)
        result = repository.admit_new(db, job.id, default_max_queue)
    if result.outcome in ("never", "no_wait"):
        repository.release_team_instances(db, job.id)  # it failed: its team's instances are free again
    return result


def requeue_after_refusal(db: Database, job_id: int, refusal: CapacityRefusal) -> bool:
    """SageMaker said the pool is full: the job waits again, and the pool learns the quota and usage."""
    detail = f"SageMaker: {refusal.message}"
    requeued, _ = repository.requeue(db, job_id, detail, refusal.quota, refusal.used)
    return requeued


def admit_waiting(db: Database, pool: str, notify: Notify) -> list[int]:
    """Admit the pool's waiting jobs while they fit, in order, requesting each one's submission."""
    admitted: list[int] = []
    while (found := repository.admit_next(db, pool)) is not None:
        job_id, room = found
        admitted.append(job_id)
        notify(job_id)
        if room is not None and room <= 0:
            break  # full again: asking once more would only find no room
    return admitted


def admit_team_waiting(db: Database, team: str, notify: Notify) -> list[int]:
    """Give the team's waiting jobs its freed instances, in order, then admit each in its pool."""
    admitted: list[int] = []
    pools: list[str] = []
    for job_id in repository.waiting_for_team(db, team):
        taken, _ = repository.take_team_instances(db, job_id)
        if not taken:
            break  # strict order within the team, as within a pool
        job = repository.get_job(db, job_id)
        if job is not None and job.capacity_pool and job.capacity_pool not in pools:
            pools.append(job.capacity_pool)
    for pool in pools:
        admitted += admit_waiting(db, pool, notify)
    return admitted


def release_and_admit(db: Database, job_id: int, notify: Notify) -> list[int]:
    """A job ended: give back its instances, its team's instances and budget commitment (once, whatever the
    number of deliveries) and admit who waits in its pool and its team (a job that held nothing, such as one
    Trainforge did not send, still frees instances in SageMaker)."""
    pool = repository.release(db, job_id)
    team = release_job(db, job_id)
    if pool is None:
        job = repository.get_job(db, job_id)
        pool = pool_of_job(job) if job is not None else None
    admitted = admit_waiting(db, pool, notify) if pool else []
    return admitted + (admit_team_waiting(db, team, notify) if team else [])


def read_training_quotas(quotas_client: Any) -> list[dict[str, Any]]:
    """SageMaker's training instance quotas from Service Quotas, as pools."""
    found: list[dict[str, Any]] = []
    paginator = quotas_client.get_paginator("list_service_quotas")
    for page in paginator.paginate(ServiceCode="sagemaker"):
        for quota in page.get("Quotas", []):
            match = QUOTA_NAME.fullmatch(str(quota.get("QuotaName", "")))
            value = quota.get("Value")
            if match is None or not isinstance(value, int | float):
                continue
            spot = bool(match.group("spot"))
            found.append(
                {
                    "pool": pool_of(match.group("type"), spot),
                    "instance_type": match.group("type"),
                    "spot": spot,
                    "quota": int(value),
                }
            )
    return found


@dataclass
class SweepReport:
    quotas_read: int | None = None
    prices_read: int | None = None
    expired: int = 0
    released: int = 0
    admitted: int = 0
    errors: list[str] | None = None

    def counts(self) -> dict[str, int]:
        return {
            "quotas_read": self.quotas_read or 0,
            "prices_read": self.prices_read or 0,
            "expired": self.expired,
            "released": self.released,
            "admitted": self.admitted,
            "errors": len(self.errors or []),
        }


def sweep(
    db: Database,
    *,
    region: str,
    default_max_queue: int,
    notify: Notify,
    quotas_client: Any | None = None,
    pricing_client: Any | None = None,
    now: datetime | None = None,
) -> SweepReport:
    """The schedule's part: refresh quotas (hourly) and prices (daily) when due, end jobs that waited too long,
    release holds an interrupted handler left, and admit every pool's waiting jobs."""
    now = now or datetime.now(UTC)
    report = SweepReport(errors=[])
    assert report.errors is not None
    if quotas_client is not None and _due(repository.quotas_read_at(db), QUOTA_REFRESH, now):
        try:
            quotas = read_training_quotas(quotas_client)
            repository.store_quotas(db, quotas)
            report.quotas_read = len(quotas)
        except Exception as exc:  # the cached quotas (and SageMaker's own refusals) still hold
            report.errors.append(f"quotas: {type(exc).__name__}: {exc}"[:300])
    if pricing_client is not None and _due(repository.prices_read_at(db, region), PRICE_REFRESH, now):
        try:
            report.prices_read = refresh_prices(db, pricing_client, region)
        except Exception as exc:  # the stored prices, or the bundled table, stay in use
            report.errors.append(f"prices: {type(exc).__name__}: {exc}"[:300])
    report.expired = len(repository.expire_waiting(db, default_max_queue))
    for job_id in repository.finished_jobs_holding_capacity(db):
        report.released += int(repository.release(db, job_id) is not None)
    for job_id in repository.finished_jobs_holding_team_resources(db):
        repository.release_budget(db, job_id)
        report.released += int(repository.release_team_instances(db, job_id) is not None)
    for tuning_id in repository.finished_tuning_jobs_holding_budget(db):
        report.released += int(repository.release_budget(db, tuning_id, "tuning_jobs") is not None)
    for team in repository.teams_with_waiting_jobs(db):
        try:
            report.admitted += len(admit_team_waiting(db, team, notify))
        except Exception as exc:
            report.errors.append(f"admission in team {team}: {type(exc).__name__}: {exc}"[:300])
    for pool in repository.pools_with_waiting_jobs(db):
        try:
            report.admitted += len(admit_waiting(db, pool, notify))
        except Exception as exc:
            report.errors.append(f"admission in {pool}: {type(exc).__name__}: {exc}"[:300])
    return report


def _due(read_at: datetime | None, every: timedelta, now: datetime) -> bool:
    return read_at is None or now - read_at >= every
