from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote_plus

import boto3
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.conftest import load_event
from trainforge.datasets.preparation import (
    MANIFEST_FORMAT,
    DatasetPreparationService,
    dataset_job_name,
)
from trainforge.models.database import JobStatusHistory, TrainingJob, TrainingReport

MANIFEST = {
    "format": MANIFEST_FORMAT,
    "metadata_file": "metadata.csv",
    "files": [{"path": "a.csv", "size": 8, "sha256": "0" * 64}],
    "training": {},  # its own (default) training settings: its arrival starts its job
}


def drop_dataset(name: str) -> tuple[dict[str, Any], str]:
    """Put a manifest in moto's S3; return its "Object Created" event and the job name it must start."""
    key = f"datasets/{name}/manifest.json"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="trainforge-datasets", Key=f"datasets/{name}/a.csv", Body=b"x" * 8)
    body = json.dumps({**MANIFEST, "created_at": name}).encode()
    etag = s3.put_object(Bucket="trainforge-datasets", Key=key, Body=body)["ETag"].strip('"')
    event = copy.deepcopy(load_event("s3_object_created.json"))
    event["detail"]["object"].update({"key": quote_plus(key, safe="/"), "etag": etag})
    event["detail"]["object"].pop("version-id")
    manifest = DatasetPreparationService().parse_manifest(body)
    return event, dataset_job_name(f"s3://trainforge-datasets/datasets/{name}/", manifest)


def lifecycle(job_name: str, final: str, offset_minutes: int) -> list[dict[str, Any]]:
    """A job's true state changes, oldest first, as SageMaker sends them."""
    base = 1795867000000 + offset_minutes * 60_000
    source = {"Completed": "sagemaker_training_completed.json", "Failed": "sagemaker_training_failed.json"}
    events = []
    for step, (status, secondary) in enumerate(
        [
            ("InProgress", "Starting"),
            ("InProgress", "Downloading"),
            ("InProgress", "Training"),
            (final, final),
        ]
    ):
        event = copy.deepcopy(load_event(source.get(status, "sagemaker_training_in_progress.json")))
        event["detail"].update(
            {
                "TrainingJobName": job_name,
                "TrainingJobStatus": status,
                "SecondaryStatus": secondary,
                "LastModifiedTime": base + step * 1000,
                "CreationTime": base,
                "TrainingStartTime": base + 2000,
            }
        )
        if status in ("InProgress", "Stopped"):
            for key in (
                "TrainingEndTime",
                "FinalMetricDataList",
                "ModelArtifacts",
                "BillableTimeInSeconds",
                "FailureReason",
            ):
                event["detail"].pop(key, None)
        events.append(event)
    return events


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything a user can see of the jobs, without database ids."""
    with Session(engine) as db:
        jobs = {j.id: j for j in db.scalars(select(TrainingJob))}
        state: dict[str, Any] = {}
        for job in jobs.values():
            history = sorted(
                (h.status, h.secondary_status)
                for h in db.scalars(select(JobStatusHistory).where(JobStatusHistory.job_id == job.id))
            )
            report = db.scalars(select(TrainingReport).where(TrainingReport.job_id == job.id)).one_or_none()
            state[job.job_name] = {
                "status": job.status,
                "secondary": job.secondary_status,
                "origin": job.origin,
                "failure": job.failure_reason,
                "history": history,
                "report": None
                if report is None
                else (
                    report.final_metrics,
                    report.model_artifacts_uri,
                    report.billable_seconds,
                    str(report.estimated_cost_usd),
                ),
            }
        return state
