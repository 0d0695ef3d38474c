"""Rows as the data-access module returns them: plain values, no ORM (the handlers never import it). Named
tuples, not dataclasses: four frozen dataclasses cost a cold start several milliseconds to create.

The columns mirror :mod:`trainforge.models.database`, which defines the schema; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple


class JobRow(NamedTuple):
    id: int
    job_name: str
    idempotency_key: str | None
    origin: str
    environment: str
    status: str
    status_rank: int
    secondary_status: str | None
    failure_reason: str | None
    config: dict[str, Any] | None
    source_uri: str | None
    input_uri: str | None
    output_uri: str | None
    role_arn: str | None
    image_uri: str | None
    instance_type: str | None
    instance_count: int | None
    sagemaker_arn: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    last_modified_at: datetime | None
    notes: list[str]
    log_tail: list[str] | None
    priority: int
    capacity_pool: str | None
    capacity_held: int
    max_queue_seconds: int | None
    waiting_since: datetime | None
    admitted_at: datetime | None
    cost_ceiling_usd: Decimal | None
    price_per_hour_usd: Decimal | None
    price_source: str | None
    warm_pool: dict[str, Any] | None
    warm_pool_at: datetime | None
    team: str | None
    submitted_by: str | None
    budget_month: date | None
    budget_held_usd: Decimal
    budget_released_at: datetime | None
    team_instances_held: int
    tuning_job_name: str | None


class HistoryRow(NamedTuple):
    id: int
    job_id: int
    status: str
    secondary_status: str
    at: datetime
    detail: str | None
    recorded_at: datetime
    attempt: int


class ReportRow(NamedTuple):
    id: int
    job_id: int
    final_metrics: dict[str, float]
    model_artifacts_uri: str | None
    billable_seconds: int | None
    training_seconds: int | None
    estimated_cost_usd: Decimal | None
    created_at: datetime
    updated_at: datetime


class BuildRow(NamedTuple):
    id: int
    build_id: str
    project_name: str
    base_image: str | None
    image_uri: str | None
    image_digest: str | None
    source_uri: str | None
    status: str
    status_rank: int
    current_phase: str | None
    log_url: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    last_event_at: datetime | None
    team: str | None
    submitted_by: str | None


def columns(row_type: Any, alias: str, prefix: str = "") -> str:
    """``alias.col AS prefixcol, ...`` for a SELECT list, in the row type's field order."""
    return ", ".join(f"{alias}.{name} AS {prefix}{name}" for name in row_type._fields)


def column_names(row_type: Any) -> list[str]:
    return list(row_type._fields)


@dataclass(frozen=True)
class TeamRow:
    """A team as stored: its definition, and the instances its jobs hold now."""

    name: str
    members: list[str]
    monthly_budget_usd: Decimal | None
    max_instances_in_flight: int | None
    allowed_instance_types: list[str] | None
    max_runtime_seconds: int | None
    notifications: list[dict[str, Any]]
    instances_in_flight: int
    created_at: datetime
    updated_at: datetime
