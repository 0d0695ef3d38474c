"""A job's metric curves read back from CloudWatch (moto's server), published as SageMaker does: namespace
/aws/sagemaker/TrainingJobs, dimension TrainingJobName, one value each time a metric definition matched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from trainforge.tracking.metrics import NAMESPACE, job_metrics, period_for

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)


@pytest.fixture
def cloudwatch(aws: Any) -> Any:
    return boto3.client("cloudwatch", region_name="us-east-1")


def put(cloudwatch: Any, job: str, name: str, points: list[tuple[datetime, float]], **extra: str) -> None:
    dimensions = [{"Name": "TrainingJobName", "Value": job}] + [
        {"Name": k, "Value": v} for k, v in extra.items()
    ]
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[{"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": at,
                     "StorageResolution": 1} for at, value in points],
    )  # fmt: skip


def test_each_metric_is_a_series_in_time_order_of_that_job_only(cloudwatch: Any) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    losses = [(start + timedelta(seconds=5 * n), 1.0 / (n + 1)) for n in range(4)]
    put(cloudwatch, "curves", "train:loss", list(reversed(losses)))  # published in any order
    put(cloudwatch, "curves", "validation:accuracy", [(start + timedelta(seconds=12), 0.8)])
    put(cloudwatch, "other-job", "train:loss", [(start + timedelta(seconds=5), 99.0)])
    put(cloudwatch, "curves", "CPUUtilization", [(start, 50.0)], Host="curves/algo-1")  # an instance metric
    found = job_metrics(cloudwatch, "curves", started=start, ended=start + timedelta(seconds=30))
    assert found["period_seconds"] == 1
    assert sorted(found["series"]) == ["train:loss", "validation:accuracy"]
    assert [p["value"] for p in found["series"]["train:loss"]] == [1.0, 0.5, 1 / 3, 0.25]
    assert found["series"]["train:loss"][0]["timestamp"] == start.isoformat()
    assert found["series"]["validation:accuracy"] == [
        {"timestamp": (start + timedelta(seconds=12)).isoformat(), "value": 0.8}
    ]


def test_a_job_without_metrics_has_no_series(cloudwatch: Any) -> None:
    now = datetime.now(UTC)
    assert job_metrics(cloudwatch, "silent", started=now - timedelta(minutes=5), ended=None)["series"] == {}


def test_old_jobs_are_read_by_the_minute() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert period_for(now - timedelta(hours=1), now) == 1
    assert period_for(now - timedelta(hours=4), now) == 60
