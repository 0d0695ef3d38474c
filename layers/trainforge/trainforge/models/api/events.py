"""The detail of each of Trainforge's own events, version 1: what docs/events/ documents as JSON Schema (generated
from these), and what the stack registers in its EventBridge schema registry. A field added keeps the version; a
field changed or removed makes version 2."""

from __future__ import annotations

from pydantic import Field

from trainforge.models.api.base import Model
from trainforge.models.events import (
    BUDGET_THRESHOLD_REACHED,
    BUILD_STATE_CHANGE,
    JOB_STATE_CHANGE,
    JOB_WAITING_FOR_CAPACITY,
    NOTIFICATION_TEST,
    TUNING_JOB_STATE_CHANGE,
)


class EventDetail(Model):
    event_id: str = Field(
        description="stable: an event published twice carries the same id (de-duplicate on it)"
    )
    version: str = Field(description="this detail's schema version")
    occurred_at: str = Field(description="when the change was written (UTC, ISO 8601)")
    team: str | None = Field(description="the team it belongs to; null for what belongs to none")
    path: str | None = Field(description="what it is about, as a path of the Trainforge API")
    url: str | None = Field(description="that path under the deployment's API URL, when it is known")


class StatusChange(EventDetail):
    old_status: str | None = Field(description="null when the thing was just recorded")
    new_status: str
    reason: str | None = Field(description="a failure's reason, as SageMaker or CodeBuild gave it")


class JobStateChangeDetail(StatusChange):
    job_id: int
    job_name: str
    origin: str | None = Field(description="trainforge, or external for a job Trainforge did not start")
    secondary_status: str | None
    instance_type: str | None
    instance_count: int | None
    tuning_job_name: str | None = Field(description="the tuning job a trial belongs to")
    cost_usd: float | None = Field(
        description="the job's estimated cost so far (its report's, once it ended)"
    )
    cost_ceiling_usd: float | None = Field(description="the most it may cost, projected when it was accepted")


class JobWaitingForCapacityDetail(StatusChange):
    job_id: int
    job_name: str
    capacity_pool: str | None = Field(description="the instances it waits for: instance type, /spot for spot")
    instance_type: str | None
    instance_count: int | None
    cost_usd: float | None
    cost_ceiling_usd: float | None


class TuningJobStateChangeDetail(StatusChange):
    tuning_job_id: int
    tuning_job_name: str
    training_counts: dict[str, int] | None = Field(
        description="its trials by state, as SageMaker counts them"
    )
    best_training_job: str | None
    best_objective_value: float | None
    objective_metric: str


class BuildStateChangeDetail(StatusChange):
    build_id: int
    codebuild_id: str
    image_uri: str | None


class BudgetThresholdReachedDetail(EventDetail):
    month: str = Field(description="YYYY-MM")
    threshold_percent: int = Field(description="50, 80 or 100: the highest the month's spend crossed")
    spent_usd: float
    committed_usd: float
    monthly_budget_usd: float


class NotificationTestDetail(EventDetail):
    requested_by: str | None = Field(description="the principal who asked for the test")
    message: str


DETAILS: dict[str, type[EventDetail]] = {
    JOB_STATE_CHANGE: JobStateChangeDetail,
    JOB_WAITING_FOR_CAPACITY: JobWaitingForCapacityDetail,
    TUNING_JOB_STATE_CHANGE: TuningJobStateChangeDetail,
    BUILD_STATE_CHANGE: BuildStateChangeDetail,
    BUDGET_THRESHOLD_REACHED: BudgetThresholdReachedDetail,
    NOTIFICATION_TEST: NotificationTestDetail,
}
