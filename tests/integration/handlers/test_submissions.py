from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import invoke, sqs_batch
from trainforge.datasets.preparation import MANIFEST_FORMAT
from trainforge.models.database import TrainingJob

MANIFEST = {
    "format": MANIFEST_FORMAT,
    "metadata_file": "metadata.csv",
    "files": [{"path": "a.csv", "size": 8, "sha256": "0" * 64}],
    "created_at": "2026-11-28T12:00:00+00:00",
    "training": {},  # it carries training settings (the defaults): its arrival starts its job
}


def put(key: str, body: Any, *, with_files: bool = True) -> dict[str, Any]:
    """Put an object; for a manifest, first the files it lists (as many bytes as it says), as uploads do."""
    s3 = boto3.client("s3", region_name="us-east-1")
    if with_files and key.endswith("manifest.json") and isinstance(body, dict):
        folder = key.rsplit("/", 1)[0]
        for entry in body.get("files", []):
            s3.put_object(
                Bucket="trainforge-datasets", Key=f"{folder}/{entry['path']}", Body=b"x" * entry["size"]
            )
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = s3.put_object(Bucket="trainforge-datasets", Key=key, Body=data)
    return {"etag": response["ETag"].strip('"')}


def object_created(
    key: str, encoded: str | None = None, etag: str = "etag-1", version: str | None = None
) -> dict[str, Any]:
    """The EventBridge "Object Created" event S3 sends, its key form-URL-encoded as S3 writes it."""
    event = copy.deepcopy(load_event("s3_object_created.json"))
    event["detail"]["object"]["key"] = encoded if encoded is not None else quote_plus(key, safe="/")
    event["detail"]["object"]["etag"] = etag
    if version is None:
        event["detail"]["object"].pop("version-id")
    else:
        event["detail"]["object"]["version-id"] = version
    return event


def sagemaker_job_names() -> list[str]:
    client = boto3.client("sagemaker", region_name="us-east-1")
    return sorted(j["TrainingJobName"] for j in client.list_training_jobs()["TrainingJobSummaries"])


def test_a_manifest_with_spaces_and_unicode_in_its_key_starts_one_job(handlers: Any, db: Session) -> None:
    key = "datasets/churn ü v1/manifest.json"
    meta = put(key, MANIFEST)
    result = invoke(handlers("submissions"), sqs_batch(object_created(key, etag=meta["etag"])))
    assert result == {"batchItemFailures": []}
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "InProgress"
    assert job.input_uri == "s3://trainforge-datasets/datasets/churn ü v1/"
    assert job.job_name.startswith("ds-churn-v1-")
    assert sagemaker_job_names() == [job.job_name]


def test_100_duplicate_deliveries_start_one_job(handlers: Any, db: Session) -> None:
    key = "datasets/churn/manifest.json"
    meta = put(key, MANIFEST)
    module = handlers("submissions")
    events = [object_created(key, etag=meta["etag"]) for _ in range(100)]
    for chunk in range(0, 100, 10):
        assert invoke(module, sqs_batch(*events[chunk : chunk + 10])) == {"batchItemFailures": []}
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 1
    assert len(sagemaker_job_names()) == 1


def test_a_plus_in_a_key_is_encoded_and_decoded(handlers: Any, db: Session) -> None:
    key = "datasets/c++ data/manifest.json"
    put(key, MANIFEST)
    invoke(handlers("submissions"), object_created(key))
    assert db.scalars(select(TrainingJob)).one().input_uri == "s3://trainforge-datasets/datasets/c++ data/"


def test_a_malformed_manifest_is_recorded_as_rejected_and_not_retried(handlers: Any, db: Session) -> None:
    key = "datasets/broken/manifest.json"
    put(key, b"{ nope")
    batch = sqs_batch(object_created(key))
    assert invoke(handlers("submissions"), batch) == {"batchItemFailures": []}
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Rejected" and "not valid JSON" in (job.failure_reason or "")
    assert sagemaker_job_names() == []


def test_a_dataset_without_training_settings_is_stored_and_starts_no_job(handlers: Any, db: Session) -> None:
    key = "datasets/plain/manifest.json"
    put(key, {k: v for k, v in MANIFEST.items() if k != "training"})
    assert invoke(handlers("submissions"), sqs_batch(object_created(key))) == {"batchItemFailures": []}
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


def test_training_settings_in_the_manifest_are_validated(handlers: Any, db: Session) -> None:
    key = "datasets/gpu/manifest.json"
    put(key, {**MANIFEST, "training": {"instance_type": "ml.gpu.huge"}})
    invoke(handlers("submissions"), object_created(key))
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Rejected" and "instance_type" in (job.failure_reason or "")


def test_a_key_outside_the_prefixes_is_ignored(handlers: Any, db: Session) -> None:
    put("elsewhere/manifest.json", MANIFEST)
    assert invoke(handlers("submissions"), object_created("elsewhere/manifest.json")) == {
        "batchItemFailures": []
    }
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("datasets/../../etc/manifest.json", "'..'"),
        ("datasets/a\x07b/manifest.json", "control character"),
        ("datasets/" + "k" * 900 + "/manifest.json", "longer than 900 bytes"),
        ("datasets/manifest.json", "would read every dataset"),
    ],
)
def test_a_refused_manifest_key_is_a_rejected_job_naming_the_rule_never_silence(
    handlers: Any, db: Session, key: str, rule: str
) -> None:
    assert invoke(handlers("submissions"), sqs_batch(object_created(key))) == {"batchItemFailures": []}
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Rejected" and rule in (job.failure_reason or "")
    assert job.input_uri is None and sagemaker_job_names() == []


def test_an_absolute_key_is_outside_the_prefixes_and_ignored(handlers: Any, db: Session) -> None:
    invoke(handlers("submissions"), sqs_batch(object_created("/datasets/x/manifest.json")))
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


def test_a_job_spec_drop_starts_the_job_it_describes(handlers: Any, db: Session) -> None:
    spec = {
        "job_name": "spec-job-1",
        "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
        "instance_type": "ml.c5.xlarge",
        "hyperparameters": {"epochs": 5},
    }
    put("jobs/spec-job-1.json", spec)
    invoke(handlers("submissions"), object_created("jobs/spec-job-1.json"))
    job = db.scalars(select(TrainingJob)).one()
    assert (job.job_name, job.instance_type, job.status) == ("spec-job-1", "ml.c5.xlarge", "InProgress")
    assert job.config is not None and job.config["hyperparameters"] == {"epochs": "5"}


def test_a_job_spec_pointing_outside_the_datasets_is_rejected(handlers: Any, db: Session) -> None:
    put("jobs/sneaky.json", {"job_name": "sneaky", "dataset_uri": "s3://someone-elses-bucket/data/"})
    invoke(handlers("submissions"), object_created("jobs/sneaky.json"))
    job = db.scalars(select(TrainingJob)).one()
    assert (job.job_name, job.status) == ("sneaky", "Rejected")


def test_the_s3_test_event_is_ignored(handlers: Any, db: Session) -> None:
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-28T12:00:00.000Z",
        "Bucket": "trainforge-datasets",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    assert invoke(handlers("submissions"), sqs_batch(test_event)) == {"batchItemFailures": []}
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


def test_a_requested_job_is_submitted_once(handlers: Any, db: Session, aws_resources: Any) -> None:
    from trainforge.job_settings.training_config import TrainingConfig
    from trainforge.services.sagemaker_training_service import SageMakerTrainingService

    service = SageMakerTrainingService(aws_resources)
    job_id, _ = service.record_training_job(
        TrainingConfig(job_name="api-job"),
        "s3://trainforge-datasets/datasets/x/",
        "s3://trainforge-artifacts/output/",
        aws_resources.execution_role_arn,
        aws_resources.default_image_uri,
        db,
    )
    requested = {
        "version": "0",
        "id": "a1b2c3d4-0000-4000-8000-000000000001",
        "detail-type": "Training Job Requested",
        "source": "trainforge",
        "account": "123456789012",
        "time": "2026-11-28T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"job_id": job_id},
    }
    module = handlers("submissions")
    invoke(module, sqs_batch(requested, requested))
    db.expire_all()
    assert db.get(TrainingJob, job_id).status == "InProgress"  # type: ignore[union-attr]
    assert sagemaker_job_names() == ["api-job"]


@pytest.mark.parametrize(
    ("training", "field"),
    [
        ({"hyperparameters": {"lr": "0.1\u0000"}}, "hyperparameters.lr"),
        ({"tags": {"team\ud800": "x"}}, "tags.team\\ud800"),
        ({"instance_type": "ml.m5.gigantic"}, "instance_type"),
    ],
)
def test_unstorable_or_invalid_dataset_settings_are_a_rejected_job_not_a_retry_loop(
    handlers: Any, db: Session, training: dict[str, Any], field: str
) -> None:
    key = "datasets/churn/manifest.json"
    body = json.dumps(
        {**MANIFEST, "training": training}
    ).encode()  # \u0000 and \ud800 escaped, as JSON allows
    put(key, body)
    result = invoke(handlers("submissions"), sqs_batch(object_created(key)))
    assert result == {"batchItemFailures": []}
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Rejected" and job.failure_reason and field in job.failure_reason
    assert sagemaker_job_names() == []


def test_a_manifest_nested_too_deep_is_a_rejected_job(handlers: Any, db: Session) -> None:
    key = "datasets/churn/manifest.json"
    put(key, b'{"format": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    invoke(handlers("submissions"), object_created(key))
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Rejected" and "nested" in (job.failure_reason or "")


def test_a_job_spec_taking_another_jobs_name_is_dead_lettered_with_the_reason(
    handlers: Any, db: Session, aws_resources: Any
) -> None:
    from trainforge.delivery import PoisonEventError

    spec = {"dataset_uri": "s3://trainforge-datasets/datasets/churn/", "job_name": "shared-name"}
    put("jobs/first.json", spec)
    module = handlers("submissions")
    invoke(module, object_created("jobs/first.json"))
    put("jobs/second.json", {**spec, "instance_count": 2})
    with pytest.raises(PoisonEventError) as caught:
        invoke(module, object_created("jobs/second.json", etag="etag-2"))
    assert "instance_count" in caught.value.reason
    assert db.scalars(select(TrainingJob)).one().instance_count == 1


CHANNELED = {
    **MANIFEST,
    "files": [
        {"path": "train/a.csv", "size": 8, "sha256": "0" * 64, "channel": "train"},
        {"path": "train/b.csv", "size": 3, "sha256": "0" * 64, "channel": "train"},
        {"path": "validation/v.csv", "size": 5, "sha256": "0" * 64, "channel": "validation"},
    ],
}


def read_s3(uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(
        boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    )


def test_each_channel_reads_exactly_the_files_its_manifest_validated(handlers: Any, db: Session) -> None:
    key = "datasets/churn/manifest.json"
    put(key, CHANNELED)
    put("datasets/churn/metadata.csv", b"file,channel\n")  # beside the data, never part of it
    put("datasets/churn/train/stray.csv", b"not validated")
    invoke(handlers("submissions"), object_created(key))
    job = db.scalars(select(TrainingJob)).one()
    described = boto3.client("sagemaker", region_name="us-east-1").describe_training_job(
        TrainingJobName=job.job_name
    )
    sources = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in described["InputDataConfig"]}
    assert set(sources) == {"train", "validation"}
    assert {s["S3DataType"] for s in sources.values()} == {"ManifestFile"}
    assert read_s3(sources["train"]["S3Uri"]) == [
        {"prefix": "s3://trainforge-datasets/datasets/churn/train/"},
        "a.csv",
        "b.csv",
    ]
    assert read_s3(sources["validation"]["S3Uri"])[1:] == ["v.csv"]
    assert sources["train"]["S3Uri"].startswith(f"s3://trainforge-artifacts/output/{job.job_name}/input/")


def test_a_manifest_whose_files_are_missing_waits_then_is_rejected_naming_them(
    handlers: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "datasets/churn/manifest.json"
    put(key, MANIFEST, with_files=False)
    batch = sqs_batch(object_created(key))
    assert invoke(handlers("submissions"), batch)["batchItemFailures"]  # delivered again, not lost
    assert db.scalars(select(TrainingJob)).one().status == "Pending"
    monkeypatch.setenv("TRAINFORGE_DATASET_WAIT_SECONDS", "0")  # the wait is over
    assert invoke(handlers("submissions"), batch) == {"batchItemFailures": []}
    db.expire_all()
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Rejected" and "a.csv is missing" in (job.failure_reason or "")
    assert sagemaker_job_names() == []


def test_files_arriving_within_the_wait_start_the_job(handlers: Any, db: Session) -> None:
    key = "datasets/churn/manifest.json"
    put(key, MANIFEST, with_files=False)
    module = handlers("submissions")
    assert invoke(module, sqs_batch(object_created(key)))["batchItemFailures"]
    put("datasets/churn/a.csv", b"x" * 8)
    assert invoke(module, sqs_batch(object_created(key))) == {"batchItemFailures": []}
    assert db.scalars(select(TrainingJob)).one().status == "InProgress"


def test_uploading_the_same_dataset_again_starts_nothing_and_changed_content_starts_a_job(
    handlers: Any, db: Session
) -> None:
    key = "datasets/churn/manifest.json"
    module = handlers("submissions")
    first = put(key, {**MANIFEST, "created_at": "2026-11-29T10:00:00+00:00"})
    again = put(
        key, {**MANIFEST, "created_at": "2026-11-29T11:00:00+00:00"}
    )  # a re-upload: new time, new etag
    assert first["etag"] != again["etag"]
    invoke(module, object_created(key, etag=first["etag"]))
    invoke(module, object_created(key, etag=again["etag"]))
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 1
    changed = {**MANIFEST, "training": {"hyperparameters": {"epochs": 3}}}
    invoke(module, object_created(key, etag=put(key, changed)["etag"]))
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 2
    assert len(sagemaker_job_names()) == 2


def test_an_older_manifest_version_never_trains_on_the_newer_versions_files(
    handlers: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_bucket_versioning(Bucket="trainforge-datasets", VersioningConfiguration={"Status": "Enabled"})
    key = "datasets/churn/manifest.json"
    s3.put_object(Bucket="trainforge-datasets", Key="datasets/churn/a.csv", Body=b"x" * 8)
    v1 = s3.put_object(Bucket="trainforge-datasets", Key=key, Body=json.dumps(MANIFEST).encode())["VersionId"]
    version2 = {**MANIFEST, "files": [{"path": "a.csv", "size": 9, "sha256": "1" * 64}]}
    s3.put_object(Bucket="trainforge-datasets", Key="datasets/churn/a.csv", Body=b"y" * 9)
    v2 = s3.put_object(Bucket="trainforge-datasets", Key=key, Body=json.dumps(version2).encode())["VersionId"]
    monkeypatch.setenv("TRAINFORGE_DATASET_WAIT_SECONDS", "0")
    module = handlers("submissions")
    invoke(module, object_created(key, version=v1))
    invoke(module, object_created(key, version=v2))
    jobs = {j.source_uri.rsplit("=", 1)[-1]: j for j in db.scalars(select(TrainingJob))}
    assert jobs[v1].status == "Rejected" and "a.csv has 9 bytes, the manifest says 8" in (
        jobs[v1].failure_reason or ""
    )
    assert jobs[v2].status == "InProgress" and sagemaker_job_names() == [jobs[v2].job_name]
