from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.conftest import load_event
from trainforge.errors import (
    JobNotFoundError,
    RetryableSubmissionError,
    SageMakerConfigurationError,
    SageMakerJobError,
)
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.aws.throttling import ThrottlingSageMakerEndpoint
from trainforge.models.database import TrainingJob
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings

INPUT = "s3://trainforge-datasets/datasets/churn/"
OUTPUT = "s3://trainforge-artifacts/output/"


def submit(service: SageMakerTrainingService, db: Session, name: str = "churn-1", **kwargs: Any) -> int:
    settings = service.settings
    return service.submit_training_job(
        TrainingConfig(job_name=name),
        INPUT,
        OUTPUT,
        settings.execution_role_arn,
        settings.default_image_uri,
        db,
        **kwargs,
    )


def sagemaker_jobs(settings: Settings) -> list[str]:
    client = boto3.client("sagemaker", region_name=settings.region)
    return [j["TrainingJobName"] for j in client.list_training_jobs()["TrainingJobSummaries"]]


@pytest.fixture
def service(settings: Settings) -> SageMakerTrainingService:
    return SageMakerTrainingService(settings, sleep=lambda _s: None)


def test_submit_records_and_sends_the_job(service: SageMakerTrainingService, db: Session) -> None:
    job_id = submit(service, db)
    job = db.get(TrainingJob, job_id)
    assert job is not None
    assert (job.status, job.secondary_status) == ("InProgress", "Starting")
    assert job.sagemaker_arn and job.sagemaker_arn.endswith("training-job/churn-1")
    assert sagemaker_jobs(service.settings) == ["churn-1"]
    status = service.get_job_status(job_id, db)
    assert [h["status"] for h in status["history"]] == ["Pending", "InProgress"]


def test_the_same_submission_twice_is_one_job(service: SageMakerTrainingService, db: Session) -> None:
    first = submit(service, db)
    second = submit(service, db)
    assert first == second
    assert sagemaker_jobs(service.settings) == ["churn-1"]


def test_an_idempotency_key_returns_the_first_job(service: SageMakerTrainingService, db: Session) -> None:
    first = submit(service, db, "churn-a", idempotency_key="req-123")
    second = submit(service, db, "churn-a", idempotency_key="req-123")
    assert first == second
    assert sagemaker_jobs(service.settings) == ["churn-a"]


def test_an_idempotency_key_with_another_request_is_a_job_error_naming_what_differs(
    service: SageMakerTrainingService, db: Session
) -> None:
    submit(service, db, "churn-a", idempotency_key="req-123")
    with pytest.raises(SageMakerJobError) as caught:
        submit(service, db, "churn-b", idempotency_key="req-123")
    assert caught.value.code == "conflict" and [p.field for p in caught.value.problems] == ["job_name"]
    assert sagemaker_jobs(service.settings) == ["churn-a"]


@pytest.mark.parametrize("key", ["", " spaced ", "k\x00", "\ud800"])
def test_an_empty_or_unprintable_idempotency_key_is_refused(
    service: SageMakerTrainingService, db: Session, key: str
) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        submit(service, db, "churn-a", idempotency_key=key)
    assert caught.value.field == "idempotency_key"
    assert db.scalars(select(TrainingJob)).all() == []


@pytest.mark.parametrize(
    ("field", "config"),
    [
        ("hyperparameters.lr", TrainingConfig(job_name="ok", hyperparameters={"lr": "0\x001"})),
        ("tags.team\\u0000", TrainingConfig(job_name="ok", tags={"team\x00": "x"})),
        ("environment_variables.A", TrainingConfig(job_name="ok", environment_variables={"A": "\udc80"})),
    ],
)
def test_text_postgresql_cannot_store_is_a_configuration_error_naming_the_field(
    service: SageMakerTrainingService, db: Session, field: str, config: TrainingConfig
) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        service.submit_training_job(config, INPUT, OUTPUT, service.settings.execution_role_arn, "img:1", db)
    assert field in {p.field for p in caught.value.problems}
    assert db.scalars(select(TrainingJob)).all() == []


def test_invalid_config_names_the_field_and_records_nothing(
    service: SageMakerTrainingService, db: Session
) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        service.submit_training_job(TrainingConfig(job_name="bad_name"), INPUT, OUTPUT, "nope", "img", db)
    assert {p.field for p in caught.value.problems} == {"job_name"}
    with pytest.raises(SageMakerConfigurationError) as caught:
        service.submit_training_job(TrainingConfig(job_name="ok"), "/local/path", OUTPUT, "nope", "img", db)
    assert {p.field for p in caught.value.problems} == {"s3_input_uri", "role_arn"}
    assert db.scalars(select(TrainingJob)).all() == []


def test_throttling_is_retried_until_sagemaker_accepts(settings: Settings, aws: Any, db: Session) -> None:
    endpoint = ThrottlingSageMakerEndpoint(aws.endpoint_url, rate_per_second=5.0).start()
    try:
        client = boto3.client("sagemaker", region_name=settings.region, endpoint_url=endpoint.endpoint_url)
        service = SageMakerTrainingService(settings, sagemaker_client=client)
        ids = [submit(service, db, f"burst-{i}") for i in range(6)]
    finally:
        endpoint.stop()
    assert len(set(ids)) == 6
    assert endpoint.throttled > 0, "the burst should have met the limit"
    statuses = {j.status for j in db.scalars(select(TrainingJob))}
    assert statuses == {"InProgress"}


def test_throttling_past_the_deadline_keeps_the_job_pending(
    settings: Settings, aws: Any, db: Session
) -> None:
    endpoint = ThrottlingSageMakerEndpoint(aws.endpoint_url, rate_per_second=0.001, burst=0).start()
    try:
        client = boto3.client("sagemaker", region_name=settings.region, endpoint_url=endpoint.endpoint_url)
        service = SageMakerTrainingService(settings, sagemaker_client=client, submit_timeout_seconds=0.5)
        with pytest.raises(RetryableSubmissionError):
            submit(service, db, "patient")
    finally:
        endpoint.stop()
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Pending"


def test_a_refusal_marks_the_job_failed_with_the_reason(
    service: SageMakerTrainingService, db: Session
) -> None:
    class Refusing:
        """SageMaker answering ResourceLimitExceeded, through botocore's own error type."""

        def create_training_job(self, **_: Any) -> dict[str, Any]:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "ResourceLimitExceeded", "Message": "quota for ml.m5.large is 0"}},
                "CreateTrainingJob",
            )

    service._clients["sagemaker"] = Refusing()
    with pytest.raises(SageMakerJobError, match="ResourceLimitExceeded"):
        submit(service, db, "over-quota")
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Failed" and "quota" in (job.failure_reason or "")


def test_status_of_an_unknown_job_is_not_found(service: SageMakerTrainingService, db: Session) -> None:
    with pytest.raises(JobNotFoundError):
        service.get_job_status(999, db)
    with pytest.raises(JobNotFoundError):
        service.cancel_training_job(999, db)


def test_status_has_every_documented_field(service: SageMakerTrainingService, db: Session) -> None:
    job_id = submit(service, db, "churn-model-1")
    service.apply_description(db, load_event("sagemaker_training_completed.json")["detail"])
    db.commit()
    status = service.get_job_status(job_id, db)
    for key in (
        "id",
        "job_name",
        "status",
        "secondary_status",
        "failure_reason",
        "created_at",
        "started_at",
        "ended_at",
    ):
        assert key in status
    assert status["status"] == "Completed"
    assert status["report"]["final_metrics"] == {"validation:accuracy": 0.91, "train:loss": 0.23}
    assert status["report"]["billable_seconds"] == 400
    assert status["report"]["estimated_cost_usd"] == pytest.approx(0.0511, abs=1e-4)
    assert status["report"]["model_artifacts_uri"].endswith("model.tar.gz")
    assert {h["status"] for h in status["history"]} == {"Pending", "InProgress", "Completed"}


def test_cancelling_a_pending_job_stops_it_without_sagemaker(
    service: SageMakerTrainingService, db: Session
) -> None:
    settings = service.settings
    job_id, _ = service.record_training_job(
        TrainingConfig(job_name="queued"),
        INPUT,
        OUTPUT,
        settings.execution_role_arn,
        settings.default_image_uri,
        db,
    )
    assert service.cancel_training_job(job_id, db) is True
    assert service.get_job_status(job_id, db)["status"] == "Stopped"
    assert service.submit_pending_job(job_id, db) is False
    assert sagemaker_jobs(settings) == []


def test_cancelling_a_finished_job_returns_false_and_leaves_it(
    service: SageMakerTrainingService, db: Session
) -> None:
    job_id = submit(service, db, "churn-model-1")
    service.apply_description(db, load_event("sagemaker_training_completed.json")["detail"])
    db.commit()
    before = service.get_job_status(job_id, db)
    assert service.cancel_training_job(job_id, db) is False
    assert service.get_job_status(job_id, db) == before


def test_cancelling_a_job_that_sagemaker_already_finished_records_the_end(
    service: SageMakerTrainingService, db: Session
) -> None:
    # moto completes jobs at once: our row says InProgress, SageMaker says Completed.
    job_id = submit(service, db)
    assert service.cancel_training_job(job_id, db) is False
    status = service.get_job_status(job_id, db)
    assert status["status"] == "Completed" and status["report"] is not None


def test_listing_is_newest_first_with_filters_and_cursor(
    service: SageMakerTrainingService, db: Session
) -> None:
    settings = service.settings
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(7):
        job_id, _ = service.record_training_job(
            TrainingConfig(job_name=f"job-{i}"), INPUT, OUTPUT, settings.execution_role_arn, "img:1", db
        )
        db.execute(
            update(TrainingJob).where(TrainingJob.id == job_id).values(created_at=base + timedelta(hours=i))
        )
    db.execute(
        update(TrainingJob).where(TrainingJob.job_name.in_(["job-1", "job-4"])).values(status="Failed")
    )
    db.commit()
    page = service.list_training_jobs_page(db, limit=3)
    assert [j["job_name"] for j in page["jobs"]] == ["job-6", "job-5", "job-4"]
    page2 = service.list_training_jobs_page(db, limit=3, cursor=page["next_cursor"])
    assert [j["job_name"] for j in page2["jobs"]] == ["job-3", "job-2", "job-1"]
    page3 = service.list_training_jobs_page(db, limit=3, cursor=page2["next_cursor"])
    assert [j["job_name"] for j in page3["jobs"]] == ["job-0"] and page3["next_cursor"] is None
    assert [j["job_name"] for j in service.list_training_jobs(db, status="Failed")] == ["job-4", "job-1"]
    window = service.list_training_jobs(
        db, created_after=base + timedelta(hours=2), created_before=base + timedelta(hours=4)
    )
    assert [j["job_name"] for j in window] == ["job-3", "job-2"]
    assert "history" not in page["jobs"][0]


def test_listing_rejects_bad_arguments_by_name(service: SageMakerTrainingService, db: Session) -> None:
    for kwargs, field in (
        ({"status": "Done"}, "status"),
        ({"limit": 0}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
    ):
        with pytest.raises(SageMakerConfigurationError) as caught:
            service.list_training_jobs(db, **kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_the_list_query_uses_the_keyset_index(service: SageMakerTrainingService, db: Session) -> None:
    from sqlalchemy import text

    db.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        r[0]
        for r in db.execute(
            text(
                "EXPLAIN SELECT * FROM training_jobs WHERE (created_at, id) < (now(), 10) "
                "ORDER BY created_at DESC, id DESC LIMIT 51"
            )
        )
    )
    assert "ix_training_jobs_created_at_id" in plan
    db.rollback()


def test_a_job_cancelled_while_sagemaker_accepts_it_is_stopped_there_too(
    service: SageMakerTrainingService, db: Session, engine: Any
) -> None:
    settings = service.settings
    job_id, _ = service.record_training_job(
        TrainingConfig(job_name="raced"),
        INPUT,
        OUTPUT,
        settings.execution_role_arn,
        settings.default_image_uri,
        db,
    )
    real = service.sagemaker
    stopped: list[str] = []

    class CancelDuringCreate:
        """SageMaker (moto) answering, while the user cancels from another session in between."""

        def create_training_job(self, **request: Any) -> dict[str, Any]:
            answer = dict(real.create_training_job(**request))
            with Session(engine) as other:
                assert SageMakerTrainingService(settings).cancel_training_job(job_id, other) is True
            return answer

        def stop_training_job(self, TrainingJobName: str) -> dict[str, Any]:
            stopped.append(TrainingJobName)
            return {}

    service._clients["sagemaker"] = CancelDuringCreate()
    assert service.submit_pending_job(job_id, db) is True
    assert stopped == ["raced"]
    assert service.get_job_status(job_id, db)["status"] == "Stopped"
