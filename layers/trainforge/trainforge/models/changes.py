"""State changes as Trainforge applies them, whatever reported them (an event, a describe call, a submit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class JobStateChange:
    """A training job's state at one moment, in SageMaker's words."""

    job_name: str
    status: str
    secondary_status: str | None = None
    failure_reason: str | None = None
    last_modified_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    sagemaker_arn: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    spot: bool = False  # EnableManagedSpotTraining: its instances come from the spot pool
    role_arn: str | None = None
    image_uri: str | None = None
    input_uri: str | None = None
    output_uri: str | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    model_artifacts_uri: str | None = None
    billable_seconds: int | None = None
    warm_pool: dict[str, Any] | None = None
    # A tuning job's trial: the tuning job (its name, as the ARN carries it) and the values it tried.
    tuning_job_name: str | None = None
    hyperparameters: dict[str, str] | None = None
    # SageMaker's retries (RetryStrategy): which attempt this report belongs to.
    attempt: int = 1
    # The job carries Trainforge's tag: Trainforge created it (its submission may not have committed yet).
    managed: bool = False

    @property
    def training_seconds(self) -> int | None:
        if self.started_at and self.ended_at:
            return max(0, int((self.ended_at - self.started_at).total_seconds()))
        return None


@dataclass(frozen=True)
class BuildStateChange:
    """A CodeBuild build's state at one moment."""

    build_id: str
    project_name: str
    status: str
    current_phase: str | None = None
    log_url: str | None = None
    image_uri: str | None = None
    image_digest: str | None = None
    base_image: str | None = None
    failure_reason: str | None = None
    event_time: datetime | None = None


@dataclass(frozen=True)
class ApplyOutcome:
    """What applying a change did: the row it touched, whether it created it, whether the row moved."""

    job_id: int | None
    created: bool
    applied: bool


def parse_time(value: Any) -> datetime | None:
    """SageMaker times: epoch milliseconds as a number or a string (events), datetimes (boto3), ISO strings."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("a time cannot be a boolean")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)
        except ValueError:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"unsupported time value {value!r}")
