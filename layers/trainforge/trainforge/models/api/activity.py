"""The API's shapes for what a job does and produced: its metric curves, its log lines, its artifacts."""

from __future__ import annotations

from pydantic import Field

from trainforge.models.api.base import Model


class MetricPoint(Model):
    timestamp: str = Field(description="the start of the period the value averages (UTC, ISO 8601)")
    value: float


class JobMetrics(Model):
    period_seconds: int = Field(description="each point averages the values of this many seconds")
    series: dict[str, list[MetricPoint]] = Field(description="each metric definition's values, oldest first")
    steps: dict[str, list[float]] = Field(
        default_factory=dict,
        description="each metric definition's values in the order the job printed them (its regexes over the "
        "first instance's log, before any averaging): one per step",
    )
    final_metrics: dict[str, float] = Field(description="the values SageMaker reported when the job ended")


class LogEvent(Model):
    timestamp: str = Field(description="when the container wrote the line (UTC, ISO 8601)")
    instance: str = Field(description="the instance that wrote it: algo-1, algo-2, ...")
    message: str


class LogPage(Model):
    events: list[LogEvent] = Field(description="the job's log lines across its instances, oldest first")
    next_token: str = Field(
        description="pass it back to continue after the last event; returned even when no event is new yet, "
        "so a client follows a running job by polling with it"
    )


class ArtifactLink(Model):
    uri: str = Field(description="where it is (s3://)")
    url: str = Field(description="a presigned GET that downloads it, for expires_in_seconds")
    size: int = Field(description="bytes")


class JobArtifacts(Model):
    job_id: int
    job_name: str
    status: str
    model: ArtifactLink | None = Field(
        description="model.tar.gz (SageMaker's ModelArtifacts); null until there is one"
    )
    output: ArtifactLink | None = Field(
        description="output.tar.gz: what the script wrote to SM_OUTPUT_DATA_DIR"
    )
    expires_in_seconds: int
