"""SageMaker's errors at submission: throttling is waited out, a quota or validation refusal fails the job with
the reason, a timeout is retried; none of them crashes the worker or loses the job."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.lambda_support import invoke, sqs_batch
from tests.reliability.support import FaultySageMaker
from trainforge.aws import reset_clients
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models.database import TrainingJob
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings


@pytest.fixture
def faulty(aws: Any) -> Iterator[FaultySageMaker]:
    endpoint = FaultySageMaker(aws.endpoint_url)
    yield endpoint
    endpoint.stop()


def record(settings: Settings, db: Session, name: str) -> int:
    job_id, _ = SageMakerTrainingService(settings).record_training_job(
        TrainingConfig(job_name=name), "s3://trainforge-datasets/datasets/x/", "s3://trainforge-artifacts/output/",
        settings.execution_role_arn, settings.default_image_uri, db,
    )  # fmt: skip
    return job_id


def requested(job_id: int) -> dict[str, Any]:
    return {
        "version": "0", "id": f"req-{job_id}", "detail-type": "Training Job Requested", "source": "trainforge",
        "account": "123456789012", "time": "2026-11-28T12:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"job_id": job_id},
    }  # fmt: skip


def test_the_worker_survives_every_refusal_and_fails_only_those_jobs(
    handlers: Any, handler_env: dict[str, str], aws_resources: Settings, db: Session, faulty: FaultySageMaker
) -> None:
    names = ["quota-job", "invalid-job", "throttle-job", "fine-job"]
    ids = {name: record(aws_resources, db, name) for name in names}
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] = faulty.endpoint_url
    reset_clients()  # clients are cached per process: make the next one read the endpoint
    try:
        worker = handlers("submissions")
        worker.RUNTIME.training._sleep = lambda _s: None
        result = invoke(worker, sqs_batch(*(requested(ids[n]) for n in names)))
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_SAGEMAKER")
        reset_clients()
    assert result == {"batchItemFailures": []}
    db.expire_all()
    jobs = {j.job_name: j for j in db.scalars(select(TrainingJob))}
    assert jobs["quota-job"].status == "Failed" and "ResourceLimitExceeded" in (
        jobs["quota-job"].failure_reason or ""
    )
    assert jobs["invalid-job"].status == "Failed" and "ValidationException" in (
        jobs["invalid-job"].failure_reason or ""
    )
    assert jobs["throttle-job"].status == "InProgress" and faulty.attempts["throttle-job"] >= 4
    assert jobs["fine-job"].status == "InProgress"


def test_throttling_past_the_deadline_fails_the_record_for_redelivery_not_the_job(
    handlers: Any, aws_resources: Settings, db: Session, aws: Any
) -> None:
    endpoint = FaultySageMaker(aws.endpoint_url, throttle_times=10_000)
    job_id = record(aws_resources, db, "throttle-forever")
    os.environ.update(
        {"AWS_ENDPOINT_URL_SAGEMAKER": endpoint.endpoint_url, "TRAINFORGE_SUBMIT_TIMEOUT_SECONDS": "1"}
    )
    try:
        batch = sqs_batch(requested(job_id))
        result = invoke(handlers("submissions"), batch)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_SAGEMAKER")
        os.environ.pop("TRAINFORGE_SUBMIT_TIMEOUT_SECONDS")
        reset_clients()
        endpoint.stop()
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    db.expire_all()
    assert db.get(TrainingJob, job_id).status == "Pending"  # type: ignore[union-attr]


def test_a_timeout_is_retried_and_the_job_created_once(
    aws_resources: Settings, db: Session, faulty: FaultySageMaker
) -> None:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", endpoint_url=faulty.endpoint_url,
        config=Config(read_timeout=0.5, retries={"mode": "standard", "max_attempts": 3}),
    )  # fmt: skip
    service = SageMakerTrainingService(aws_resources, sagemaker_client=client, sleep=lambda _s: None)
    job_id = record(aws_resources, db, "slow-job")
    assert service.submit_pending_job(job_id, db) is True
    db.expire_all()
    assert db.get(TrainingJob, job_id).status == "InProgress"  # type: ignore[union-attr]
    assert faulty.attempts["slow-job"] >= 2
    names = [
        j["TrainingJobName"]
        for j in boto3.client("sagemaker", region_name="us-east-1").list_training_jobs()[
            "TrainingJobSummaries"
        ]
    ]
    assert names.count("slow-job") == 1
