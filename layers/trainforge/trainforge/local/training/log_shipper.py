"""A local job's telemetry, written where SageMaker writes a job's, so the API and the CLI read local jobs through
the same code as real ones:

- its output to the emulator's CloudWatch Logs, group ``/aws/sagemaker/TrainingJobs``, stream
  ``<job-name>/algo-1-<epoch>``;
- each metric definition's matches to the emulator's CloudWatch metrics, namespace ``/aws/sagemaker/TrainingJobs``,
  dimension ``TrainingJobName`` (what the SageMaker SDK's ``TrainingJobAnalytics`` reads).

Both are sent as they happen, batched every half second. Sending never fails the job: what went wrong is kept in
``failed`` to be said.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from trainforge.aws import error_code
from trainforge.tracking.logs import LOG_GROUP
from trainforge.tracking.metrics import JOB_DIMENSION, NAMESPACE

FLUSH_SECONDS = 0.5


class _Batches:
    """Items gathered as they come and sent every ``FLUSH_SECONDS`` (and when ``max_batch`` are waiting)."""

    max_batch = 1000

    def __init__(self) -> None:
        self.failed: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._flusher = threading.Thread(target=self._flush_while_running, daemon=True)

    def start(self) -> None:
        """Begin sending (a subclass calls it once what it sends to exists)."""
        self._flusher.start()

    def _add(self, item: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(item)
            full = len(self._pending) >= self.max_batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch and self.failed is None:
            try:
                self._send(batch)
            except Exception as exc:
                self.failed = f"{type(exc).__name__}: {exc}"

    def _send(self, batch: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._done.set()
        if self._flusher.is_alive():
            self._flusher.join(timeout=5)
        self.flush()

    def _flush_while_running(self) -> None:
        while not self._done.wait(FLUSH_SECONDS):
            self.flush()


class LogShipper(_Batches):
    max_batch = 1000  # PutLogEvents takes at most 10,000 events or 1 MB

    def __init__(self, logs: Any, job_name: str, host: str = "algo-1") -> None:
        self.logs = logs
        self.stream = f"{job_name}/{host}-{int(time.time())}"
        super().__init__()
        try:
            for create, args in (
                (logs.create_log_group, {"logGroupName": LOG_GROUP}),
                (logs.create_log_stream, {"logGroupName": LOG_GROUP, "logStreamName": self.stream}),
            ):
                try:
                    create(**args)
                except Exception as exc:
                    if error_code(exc) != "ResourceAlreadyExistsException":
                        raise
        except Exception as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
        self.start()

    def write(self, line: str) -> None:
        self._add({"timestamp": int(time.time() * 1000), "message": line.rstrip("\n") or " "})

    def _send(self, batch: list[dict[str, Any]]) -> None:
        self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=self.stream, logEvents=batch)


class MetricPublisher(_Batches):
    max_batch = 500  # PutMetricData takes at most 1,000 values

    def __init__(self, cloudwatch: Any, job_name: str) -> None:
        self.cloudwatch = cloudwatch
        self.dimensions = [{"Name": JOB_DIMENSION, "Value": job_name}]
        super().__init__()
        self.start()

    def record(self, name: str, value: float) -> None:
        self._add({"MetricName": name, "Dimensions": self.dimensions, "Value": value,
                   "Timestamp": datetime.now(UTC), "StorageResolution": 1})  # fmt: skip

    def _send(self, batch: list[dict[str, Any]]) -> None:
        self.cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=batch)
