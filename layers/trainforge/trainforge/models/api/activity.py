"""The API's shapes for what a job does while it runs: its metric curves and its log lines."""

from __future__ import annotations

from pydantic import Field

from trainforge.models.api.base import Model


class MetricPoint(Model):
    timestamp: str = Field(description="the start of the period the value averages (UTC, ISO 8601)")
    value: float


class JobMetrics(Model):
    period_seconds: int = Field(description="each point averages the values of this many seconds")
    series: dict[str, list[MetricPoint]] = Field(description="each metric definition's values, oldest first")
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
