"""Local SageMaker's record of its jobs, tuning jobs and images, kept on disk as SageMaker keeps them in the
account: a job described after local mode stopped and started again is the job it was.

Each job and tuning job is one JSON file, rewritten (whole, then renamed) at every change it publishes; the
images local builds made are one more file. Processes do not outlive local mode: what was running when it
stopped is ended by :meth:`trainforge.local.sagemaker.runner.LocalSageMaker.recover` at the next start.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from trainforge.local.sagemaker.job import LocalJob
from trainforge.local.sagemaker.tuner import LocalTuningJob

_JOB_TIMES = ("created", "modified", "started", "ended")
_JOB_FIELDS = (
    "status", "secondary", "failure_reason", "stop_reason", "metrics", "series", "artifacts", "warm_pool",
    "reused_pool_of",
)  # fmt: skip


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a temporary file of this thread's own: two threads saving one job (a stop beside the job's own progress)
    # each replace the file whole, never each other's half-written one
    partial = path.with_name(f"{path.name}.{threading.get_ident()}.partial")
    partial.write_text(json.dumps(document, default=str))
    os.replace(partial, path)


def job_document(job: LocalJob) -> dict[str, Any]:
    with job.lock:
        return {
            "request": job.request,
            "arn": job.arn,
            **{name: _when(getattr(job, name)) for name in _JOB_TIMES},
            **{name: getattr(job, name) for name in _JOB_FIELDS},
            "transitions": [
                {
                    **t,
                    "StartTime": _when(t["StartTime"]),
                    **({"EndTime": _when(t["EndTime"])} if "EndTime" in t else {}),
                }
                for t in job.transitions
            ],
        }


def job_from_document(document: dict[str, Any]) -> LocalJob:
    job = LocalJob(document["request"], document["arn"])
    for name in _JOB_TIMES:
        setattr(job, name, _moment(document.get(name)))
    for name in _JOB_FIELDS:
        setattr(job, name, document.get(name))
    job.metrics = job.metrics or {}
    job.series = job.series or {}
    job.transitions = [
        {
            **t,
            "StartTime": _moment(t["StartTime"]),
            **({"EndTime": _moment(t["EndTime"])} if "EndTime" in t else {}),
        }
        for t in document.get("transitions", [])
    ]
    return job


def tuning_document(tuning: LocalTuningJob) -> dict[str, Any]:
    return {
        "request": tuning.request,
        "arn": tuning.arn,
        "status": tuning.status,
        "created": _when(tuning.created),
        "modified": _when(tuning.modified),
        "ended": _when(tuning.ended),
        "trials": list(tuning.trials),
        "stopped_early": sorted(tuning.stopped_early),
        "failure_reason": tuning.failure_reason,
    }


def tuning_from_document(document: dict[str, Any]) -> LocalTuningJob:
    tuning = LocalTuningJob(document["request"], document["arn"])
    tuning.status = document["status"]
    tuning.created = _moment(document["created"]) or tuning.created
    tuning.modified = _moment(document["modified"]) or tuning.modified
    tuning.ended = _moment(document.get("ended"))
    tuning.trials = list(document.get("trials", []))
    tuning.stopped_early = set(document.get("stopped_early", []))
    tuning.failure_reason = document.get("failure_reason")
    return tuning


class LocalImage(NamedTuple):
    """A local build's image: its code's folder, and the environment its Dockerfile sets (its entry point)."""

    code: Path
    environment: dict[str, str]


class SageMakerRecord:
    """The files under ``folder``: ``jobs/<name>.json``, ``tuning-jobs/<name>.json`` and ``images.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._saving = threading.Lock()

    def save_job(self, job: LocalJob) -> None:
        with self._saving:  # the snapshot and its write together: an older snapshot never lands after a newer
            _write(self.folder / "jobs" / f"{job.name}.json", job_document(job))

    def save_tuning_job(self, tuning: LocalTuningJob) -> None:
        with self._saving:
            _write(self.folder / "tuning-jobs" / f"{tuning.name}.json", tuning_document(tuning))

    def save_images(self, images: dict[str, LocalImage]) -> None:
        _write(
            self.folder / "images.json",
            {
                uri: {"code": str(image.code), "environment": image.environment}
                for uri, image in images.items()
            },
        )

    def load(self) -> tuple[dict[str, LocalJob], dict[str, LocalTuningJob], dict[str, LocalImage], list[str]]:
        """(jobs, tuning jobs, images, problems): a file that cannot be read is named, not fatal."""
        jobs: dict[str, LocalJob] = {}
        tuning_jobs: dict[str, LocalTuningJob] = {}
        problems: list[str] = []
        for path in sorted((self.folder / "jobs").glob("*.json")):
            try:
                job = job_from_document(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            jobs[job.name] = job
        for path in sorted((self.folder / "tuning-jobs").glob("*.json")):
            try:
                tuning = tuning_from_document(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            tuning_jobs[tuning.name] = tuning
        images: dict[str, LocalImage] = {}
        index = self.folder / "images.json"
        if index.is_file():
            try:
                for uri, saved in json.loads(index.read_text()).items():
                    # An older record kept only the code's folder.
                    entry = saved if isinstance(saved, dict) else {"code": saved, "environment": {}}
                    images[uri] = LocalImage(Path(entry["code"]), dict(entry.get("environment") or {}))
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{index}: {exc}")
        return jobs, tuning_jobs, images, problems
