"""A local job's output, written where SageMaker writes a job's: the emulator's CloudWatch Logs, group
``/aws/sagemaker/TrainingJobs``, stream ``<job-name>/algo-1-<epoch>``, as the lines come (batched every half
second), so the API and the CLI read local jobs' logs through the same code as real ones."""

from __future__ import annotations

import threading
import time
from typing import Any

from trainforge.aws import error_code
from trainforge.services.job_logs import LOG_GROUP

FLUSH_SECONDS = 0.5
MAX_BATCH = 1000  # PutLogEvents takes at most 10,000 events or 1 MB


class LogShipper:
    def __init__(self, logs: Any, job_name: str, host: str = "algo-1") -> None:
        self.logs = logs
        self.stream = f"{job_name}/{host}-{int(time.time())}"
        self.failed: str | None = None  # shipping never fails the job; what went wrong is kept to be said
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
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
        self._flusher = threading.Thread(target=self._flush_while_running, daemon=True)
        self._flusher.start()

    def write(self, line: str) -> None:
        with self._lock:
            self._pending.append({"timestamp": int(time.time() * 1000), "message": line.rstrip("\n") or " "})
            full = len(self._pending) >= MAX_BATCH
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch and self.failed is None:
            try:
                self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=self.stream, logEvents=batch)
            except Exception as exc:
                self.failed = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        self._done.set()
        self._flusher.join(timeout=5)
        self.flush()

    def _flush_while_running(self) -> None:
        while not self._done.wait(FLUSH_SECONDS):
            self.flush()
