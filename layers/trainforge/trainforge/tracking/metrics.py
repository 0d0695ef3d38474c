"""A training job's metric curves, read where SageMaker publishes each metric definition's matches: CloudWatch,
namespace ``/aws/sagemaker/TrainingJobs``, dimension ``TrainingJobName`` (as the SageMaker SDK's
``TrainingJobAnalytics`` reads them), averaged over each period."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from trainforge.aws import refused_as

NAMESPACE = "/aws/sagemaker/TrainingJobs"
JOB_DIMENSION = "TrainingJobName"
HIGH_RESOLUTION_FOR = timedelta(hours=3)  # CloudWatch keeps 1-second points for 3 hours, then 1-minute ones
QUERIES_PER_CALL = 500


def period_for(start: datetime, now: datetime) -> int:
    """1 second while the job's data is young enough for CloudWatch's high resolution, else 60."""
    return 1 if now - start < HIGH_RESOLUTION_FOR else 60


def metric_names(cloudwatch: Any, job_name: str) -> list[str]:
    """The job's own metrics: those dimensioned by its name alone (not SageMaker's per-host instance metrics)."""
    dimensions = [{"Name": JOB_DIMENSION, "Value": job_name}]
    pages = cloudwatch.get_paginator("list_metrics").paginate(Namespace=NAMESPACE, Dimensions=dimensions)
    return sorted(
        {
            m["MetricName"]
            for page in pages
            for m in page.get("Metrics", [])
            if m.get("Dimensions") == dimensions
        }
    )


def job_metrics(
    cloudwatch: Any,
    job_name: str,
    *,
    started: datetime,
    ended: datetime | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every metric's series (oldest first) between the job's start and end (or now), and the period used."""
    now = now or datetime.now(UTC)
    start = started.astimezone(UTC) - timedelta(minutes=1)
    end = min((ended or now).astimezone(UTC) + timedelta(minutes=1), now + timedelta(minutes=1))
    period = period_for(start, now)
    with refused_as("CloudWatch"):
        names = metric_names(cloudwatch, job_name)
        series: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for first in range(0, len(names), QUERIES_PER_CALL):
            chunk = names[first : first + QUERIES_PER_CALL]
            _read(cloudwatch, job_name, chunk, start, end, period, series)
    return {"period_seconds": period, "series": series}


def _read(
    cloudwatch: Any,
    job_name: str,
    names: list[str],
    start: datetime,
    end: datetime,
    period: int,
    series: dict[str, list[dict[str, Any]]],
) -> None:
    queries = [
        {
            "Id": f"m{index}",
            "Label": name,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [{"Name": JOB_DIMENSION, "Value": job_name}],
                },
                "Period": period,
                "Stat": "Average",
            },
        }
        for index, name in enumerate(names)
    ]
    by_id = {query["Id"]: name for query, name in zip(queries, names, strict=True)}
    pages = cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    for page in pages:
        for result in page.get("MetricDataResults", []):
            name = by_id.get(result.get("Id", ""))
            if name is None:
                continue
            for moment, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                series[name].append({"timestamp": moment.astimezone(UTC).isoformat(), "value": value})
    for points in series.values():
        points.sort(key=lambda point: point["timestamp"])


MAX_STEP_LINES = 20_000  # a step chart reads at most this many of the first instance's lines


def metric_steps(logs: Any, job_name: str, definitions: list[dict[str, str]]) -> dict[str, list[float]]:
    """Each metric definition's values in the order the job printed them: its regexes applied to the first
    instance's log lines (as SageMaker extracts them, before CloudWatch averages them over a period), so a
    chart can go step by step."""
    # the log reader only where steps are asked for
    from trainforge.tracking.logs import job_logs

    compiled = [(d["Name"], re.compile(d["Regex"])) for d in definitions if d.get("Name") and d.get("Regex")]
    steps: dict[str, list[float]] = {name: [] for name, _ in compiled}
    if not compiled:
        return steps
    token, read = None, 0
    while read < MAX_STEP_LINES:
        page = job_logs(logs, job_name, limit=1000, next_token=token, instance="algo-1")
        if not page["events"]:
            break
        read += len(page["events"])
        token = page["next_token"]
        for event in page["events"]:
            for name, regex in compiled:
                found = regex.search(event["message"])
                if found:
                    try:
                        steps[name].append(float(found.group(1)))
                    except (IndexError, ValueError):
                        continue
    return steps
