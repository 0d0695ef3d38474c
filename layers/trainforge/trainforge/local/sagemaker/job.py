"""One local training job's state, kept the way ``DescribeTrainingJob`` reports it, and moved the way SageMaker
moves it (secondary statuses, transition times, metrics, artifacts)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

TERMINAL = ("Completed", "Failed", "Stopped")


def sagemaker_error(code: str, message: str, operation: str) -> ClientError:
    """A refusal as boto3 raises SageMaker's (local SageMaker's runner, tuner and quotas answer with it)."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _millis(moment: datetime | None) -> int | None:
    """Epoch milliseconds, floored in integers (a float product can land a millisecond short)."""
    return (moment - EPOCH) // timedelta(milliseconds=1) if moment else None


class LocalJob:
    """One job's state, kept the way DescribeTrainingJob reports it."""

    def __init__(self, request: dict[str, Any], arn: str) -> None:
        self.request = copy.deepcopy(request)
        self.arn = arn
        now = datetime.now(UTC)
        self.status = "InProgress"
        self.secondary = "Starting"
        self.failure_reason: str | None = None
        self.created = now
        self.modified = now
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.metrics: dict[str, float] = {}
        self.series: dict[str, list[float]] = {}  # every value of each metric, in order (early stopping's)
        self.artifacts: str | None = None
        self.transitions: list[dict[str, Any]] = []
        self.stop_requested = threading.Event()
        self.stop_reason: str | None = None  # why it was stopped, when not at the user's request
        self.interrupt_requested = threading.Event()  # local mode's spot interruption
        self.warm_pool: dict[str, Any] | None = None  # SageMaker's WarmPoolStatus (local/warm_pools.py)
        self.pool_since: float | None = None  # monotonic time its pool became Available
        self.reused_pool_of: str | None = None
        self.lock = threading.Lock()

    @property
    def name(self) -> str:
        return str(self.request["TrainingJobName"])

    def describe(self, *, for_event: bool = False) -> dict[str, Any]:
        with self.lock:
            stamp: Callable[[datetime | None], Any] = _millis if for_event else (lambda d: d)
            described: dict[str, Any] = {
                "TrainingJobName": self.name,
                "TrainingJobArn": self.arn,
                "TrainingJobStatus": self.status,
                "SecondaryStatus": self.secondary,
                "HyperParameters": self.request.get("HyperParameters", {}),
                "AlgorithmSpecification": self.request.get("AlgorithmSpecification", {}),
                "RoleArn": self.request.get("RoleArn"),
                "InputDataConfig": self.request.get("InputDataConfig", []),
                "OutputDataConfig": self.request.get("OutputDataConfig", {}),
                "ResourceConfig": self.request.get("ResourceConfig", {}),
                "StoppingCondition": self.request.get("StoppingCondition", {}),
                "CreationTime": stamp(self.created),
                "LastModifiedTime": stamp(self.modified),
                "SecondaryStatusTransitions": [
                    {
                        **t,
                        "StartTime": stamp(t["StartTime"]),
                        **({"EndTime": stamp(t["EndTime"])} if "EndTime" in t else {}),
                    }
                    for t in self.transitions
                ],
                "Environment": self.request.get("Environment", {}),
                "EnableManagedSpotTraining": self.request.get("EnableManagedSpotTraining", False),
            }
            if self.started:
                described["TrainingStartTime"] = stamp(self.started)
            if self.ended:
                described["TrainingEndTime"] = stamp(self.ended)
            if self.failure_reason:
                described["FailureReason"] = self.failure_reason
            if self.status in TERMINAL:
                described["FinalMetricDataList"] = [
                    {"MetricName": k, "Value": v, "Timestamp": stamp(self.ended)}
                    for k, v in self.metrics.items()
                ]
                described["BillableTimeInSeconds"] = (
                    max(1, int((self.ended - self.started).total_seconds()))
                    if self.started and self.ended
                    else 0
                )
            if self.artifacts:
                described["ModelArtifacts"] = {"S3ModelArtifacts": self.artifacts}
            if self.warm_pool is not None:
                described["WarmPoolStatus"] = dict(self.warm_pool)
            if self.request.get("TuningJobArn"):  # a tuning job's trial
                described["TuningJobArn"] = self.request["TuningJobArn"]
            if for_event:
                described["Tags"] = {t["Key"]: t["Value"] for t in self.request.get("Tags", [])}
            return described

    def _next_time(self) -> datetime:
        now = datetime.now(UTC)
        # SageMaker's clock is in milliseconds: keep every change strictly later than the last. Compared in
        # milliseconds: two moves 0.4 ms apart are different datetimes but the same SageMaker time.
        if self.modified and (_millis(now) or 0) <= (_millis(self.modified) or 0):
            now = EPOCH + timedelta(milliseconds=(_millis(self.modified) or 0) + 1)
        return now

    def touch(self) -> None:
        """A change that is no transition (its warm pool's): only ``LastModifiedTime`` moves."""
        with self.lock:
            self.modified = self._next_time()

    def move(self, status: str, secondary: str, message: str) -> None:
        with self.lock:
            now = self._next_time()
            if self.transitions:
                self.transitions[-1]["EndTime"] = now
            self.transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
            self.status, self.secondary, self.modified = status, secondary, now
            if secondary == "Training" and self.started is None:
                self.started = now
            if status in TERMINAL:
                self.ended = now
                self.started = self.started or now
