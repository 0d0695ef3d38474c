from __future__ import annotations

from typing import Any

import boto3
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.lambda_support import invoke
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models.database import TrainingJob
from trainforge.services.sagemaker_training_service import SageMakerTrainingService

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from trainforge.schema import alembic_config

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


HEAD = head_revision()


def test_reconcile_heals_a_job_whose_events_went_missing(
    handlers: Any, db: Session, aws_resources: Any
) -> None:
    service = SageMakerTrainingService(aws_resources)
    job_id = service.submit_training_job(
        TrainingConfig(job_name="silent-job"),
        "s3://trainforge-datasets/datasets/x/",
        "s3://trainforge-artifacts/output/",
        aws_resources.execution_role_arn,
        aws_resources.default_image_uri,
        db,
    )
    db.execute(update(TrainingJob).values(updated_at=text("now() - interval '1 hour'")))
    db.commit()
    counts = invoke(
        handlers("reconcile"), {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    )
    assert counts["described"] == 1 and counts["changed"] == 1
    db.expire_all()
    job = db.get(TrainingJob, job_id)
    assert job is not None and job.status == "Completed"  # moto completes jobs at once
    assert service.get_job_status(job_id, db)["report"] is not None


def test_reconcile_leaves_recent_jobs_alone(handlers: Any, db: Session, aws_resources: Any) -> None:
    SageMakerTrainingService(aws_resources).submit_training_job(
        TrainingConfig(job_name="fresh-job"),
        "s3://trainforge-datasets/datasets/x/",
        "s3://trainforge-artifacts/output/",
        aws_resources.execution_role_arn,
        aws_resources.default_image_uri,
        db,
    )
    counts = invoke(handlers("reconcile"), {})
    assert counts["described"] == 0
    assert db.scalars(select(TrainingJob)).one().status == "InProgress"


def test_reconcile_asks_again_for_stuck_pending_jobs(handlers: Any, db: Session, aws_resources: Any) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="submissions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="requested", EventPattern='{"source": ["trainforge"], "detail-type": ["Training Job Requested"]}'
    )
    events.put_targets(Rule="requested", Targets=[{"Id": "q", "Arn": arn}])
    job_id, _ = SageMakerTrainingService(aws_resources).record_training_job(
        TrainingConfig(job_name="stuck"),
        "s3://trainforge-datasets/datasets/x/",
        "s3://trainforge-artifacts/output/",
        aws_resources.execution_role_arn,
        "img:1",
        db,
    )
    db.execute(update(TrainingJob).values(updated_at=text("now() - interval '1 hour'")))
    db.commit()
    assert invoke(handlers("reconcile"), {})["resubmitted"] == 1
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert f'"job_id": {job_id}' in message["Body"]


def test_the_migration_resource_reports_the_revision(handlers: Any) -> None:
    module = handlers("migrate")
    created = invoke(module, {"RequestType": "Create", "ResourceProperties": {}})
    assert created["PhysicalResourceId"] == "trainforge-schema" and created["Data"]["Revision"] == HEAD
    assert invoke(module, {"RequestType": "Update"})["Data"]["Revision"] == HEAD
    deleted = invoke(module, {"RequestType": "Delete", "PhysicalResourceId": "trainforge-schema"})
    assert deleted == {"PhysicalResourceId": "trainforge-schema"}
