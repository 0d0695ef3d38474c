from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.clock import moved_millis
from tests.conftest import load_event
from tests.lambda_support import api_request, invoke
from trainforge.models.database import TrainingJob

JOB = {
    "job_name": "api-churn-1",
    "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
    "instance_type": "ml.m5.xlarge",
    "hyperparameters": {"epochs": 10, "lr": 0.05},
}


@pytest.fixture
def api(handlers: Any) -> Any:
    module = handlers("api")

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        response = invoke(module, api_request(method, path, body, **kwargs))
        content = response["body"]
        try:
            parsed = json.loads(content) if content else None
        except json.JSONDecodeError:
            parsed = content
        return response["statusCode"], parsed

    return call


def test_health_reports_the_database(api: Any) -> None:
    status, body = api("GET", "/health")
    assert status == 200 and body["database"] is True and body["status"] == "ok"


def test_requests_without_a_principal_are_refused(api: Any) -> None:
    status, body = api("GET", "/health", principal=None)
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_configuration_validation_lists_every_check(api: Any) -> None:
    status, body = api("GET", "/config/validation")
    assert status == 200 and body["valid"] is True
    assert {c["name"] for c in body["checks"]} >= {"credentials", "execution_role", "ecr_repository"}


def test_roles_are_created(api: Any) -> None:
    status, body = api("POST", "/roles", {"role_name": "team-x"})
    assert status == 201 and body["role_arn"].endswith(":role/trainforge/team-x")
    status, body = api("POST", "/roles", {"role_name": "bad name"})
    assert status == 422 and body["error"]["field"] == "role_name"


def test_dataset_upload_urls_and_the_manifest_to_put_last(api: Any) -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    request = {
        "name": "churn",
        "metadata_file": "metadata.csv",
        "files": [{"path": "a.csv", "size": 1, "sha256": sha}],
    }
    status, missing = api("GET", "/datasets/churn")
    assert status == 404 and "no dataset 'churn'" in missing["error"]["message"]
    status, body = api("POST", "/datasets", request)
    assert status == 200
    assert body["dataset_uri"] == "s3://trainforge-datasets/datasets/churn/"
    assert [u["key"] for u in body["uploads"]] == ["datasets/churn/a.csv", "datasets/churn/metadata.csv"]
    assert body["manifest"]["key"] == "datasets/churn/manifest.json"
    assert json.loads(body["manifest"]["body"])["files"][0]["sha256"] == sha
    import urllib.request

    for upload in [*body["uploads"], body["manifest"]]:
        if upload is body["manifest"]:  # files first: until the manifest arrives the dataset is incomplete
            status, partial = api("GET", "/datasets/churn")
            assert status == 200 and partial["complete"] is False and partial["files"] == 0
        data = body["manifest"]["body"].encode() if upload is body["manifest"] else b"x"
        headers = {"Content-Type": "application/octet-stream", **upload.get("headers", {})}
        req = urllib.request.Request(upload["url"], data=data, method="PUT", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as response:
            assert response.status == 200
    status, found = api("GET", "/datasets/churn")
    assert status == 200 and found["complete"] is True
    assert (found["dataset_uri"], found["files"], found["bytes"], found["channels"], found["training"]) == (
        "s3://trainforge-datasets/datasets/churn/",
        1,
        1,
        ["training"],
        None,
    )
    assert api("GET", "/datasets/Not_A_Name")[0] == 422
    import boto3

    stored = boto3.client("s3", region_name="us-east-1").get_object(
        Bucket="trainforge-datasets", Key="datasets/churn/a.csv"
    )
    assert stored["Body"].read() == b"x" and stored["Metadata"] == {"sha256": sha}
    status, again = api("POST", "/datasets", request)
    assert [u["already_uploaded"] for u in again["uploads"]] == [True, False]


def test_dataset_paths_with_dot_dot_are_refused(api: Any) -> None:
    request = {
        "name": "x",
        "metadata_file": "m.csv",
        "files": [{"path": "../a", "size": 1, "sha256": "0" * 64}],
    }
    status, body = api("POST", "/datasets", request)
    assert status == 422 and body["error"]["field"] == "files[0].path"


def test_submit_status_list_and_cancel(api: Any, db: Session) -> None:
    status, job = api("POST", "/jobs", JOB)
    assert status == 202
    assert job["job_name"] == "api-churn-1" and job["status"] == "Pending"
    assert [h["status"] for h in job["history"]] == ["Pending"]
    status, again = api("POST", "/jobs", JOB)
    assert status == 200 and again["id"] == job["id"]
    status, fetched = api("GET", f"/jobs/{job['id']}")
    assert status == 200 and fetched["job_name"] == "api-churn-1"
    status, page = api("GET", "/jobs", query={"status": "Pending", "limit": "10"})
    assert status == 200 and [j["id"] for j in page["jobs"]] == [job["id"]] and page["next_cursor"] is None
    status, cancelled = api("POST", f"/jobs/{job['id']}/cancel")
    assert status == 200 and cancelled["cancelled"] is True and cancelled["job"]["status"] == "Stopped"
    status, again = api("POST", f"/jobs/{job['id']}/cancel")
    assert status == 200 and again["cancelled"] is False


def test_the_same_idempotency_key_and_body_return_the_first_job(api: Any) -> None:
    status, first = api("POST", "/jobs", JOB, headers={"Idempotency-Key": "abc"})
    assert status == 202
    status, second = api("POST", "/jobs", JOB, headers={"Idempotency-Key": "abc"})
    assert status == 200 and second["id"] == first["id"]


def test_the_same_idempotency_key_with_another_body_is_a_conflict_naming_what_differs(api: Any) -> None:
    api("POST", "/jobs", JOB, headers={"Idempotency-Key": "abc"})
    status, body = api(
        "POST",
        "/jobs",
        {**JOB, "job_name": "other-name", "instance_type": "ml.m5.large"},
        headers={"Idempotency-Key": "abc"},
    )
    assert status == 409 and body["error"]["code"] == "conflict"
    assert {p["field"] for p in body["error"]["problems"]} == {"job_name", "instance_type"}


def test_the_same_job_name_with_another_body_is_a_conflict(api: Any) -> None:
    api("POST", "/jobs", JOB)
    status, body = api("POST", "/jobs", {**JOB, "hyperparameters": {"epochs": 11, "lr": 0.05}})
    assert status == 409 and body["error"]["field"] == "hyperparameters"
    assert "same job name" in body["error"]["message"]


def test_an_empty_idempotency_key_is_refused_on_the_header(api: Any) -> None:
    status, body = api("POST", "/jobs", JOB, headers={"Idempotency-Key": ""})
    assert status == 422 and body["error"]["field"].lower() == "idempotency-key"


def test_a_finished_job_shows_its_report(api: Any, db: Session, handlers: Any) -> None:
    _, job = api("POST", "/jobs", {**JOB, "job_name": "churn-model-1"})
    invoke(handlers("training_state"), load_event("sagemaker_training_completed.json"))
    _, fetched = api("GET", f"/jobs/{job['id']}")
    assert fetched["status"] == "Completed"
    assert fetched["report"]["final_metrics"]["validation:accuracy"] == 0.91


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"job_name": "has_underscore"}, "job_name"),
        ({"instance_type": "ml.nope.large"}, "instance_type"),
        ({"instance_count": "two"}, "instance_count"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"dataset_uri": "/local/path"}, "dataset_uri"),
        ({"dataset_uri": "s3://trainforge-datasets/datasets/../other/"}, "s3_input_uri"),
        ({"dataset_uri": "s3://someone-elses-bucket/data/"}, "s3_input_uri"),
        ({"output_uri": "s3://trainforge-artifacts/elsewhere/"}, "s3_output_uri"),
        ({"instance_type": "ml.m5.gigantic"}, "instance_type"),
        ({"instance_count": True}, "instance_count"),
        ({"hyperparameters": {"lr": "0.1\u0000"}}, "hyperparameters.lr"),
        ({"metric_definitions": [{"Name": "loss", "Regex": "(["}]}, "metric_definitions[0].Regex"),
    ],
)
def test_invalid_jobs_name_the_field(api: Any, change: dict[str, Any], field: str) -> None:
    status, body = api("POST", "/jobs", {**JOB, **change})
    assert status == 422, body
    assert body["error"]["field"] == field


def test_malformed_json_is_a_400(api: Any) -> None:
    status, body = api("POST", "/jobs", raw_body="{not json")
    assert status == 400 and body["error"]["code"] == "malformed_json"


def test_an_oversize_body_is_a_413(api: Any) -> None:
    status, body = api("POST", "/jobs", raw_body="x" * (1024 * 1024 + 1))
    assert status == 413 and body["error"]["code"] == "body_too_large"


def test_unknown_jobs_and_routes_are_404(api: Any) -> None:
    status, body = api("GET", "/jobs/424242")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = api("POST", "/jobs/424242/cancel")
    assert status == 404
    status, body = api("GET", "/nothing-here")
    assert status == 404 and body["error"]["code"] == "no_route"


def test_list_parameters_are_validated(api: Any) -> None:
    assert api("GET", "/jobs", query={"limit": "0"})[0] == 422
    assert api("GET", "/jobs", query={"limit": "many"})[0] == 422
    status, body = api("GET", "/jobs", query={"cursor": "garbage!"})
    assert status == 422 and body["error"]["field"] == "cursor"
    status, body = api("GET", "/jobs", query={"status": "Exploded"})
    assert status == 422 and body["error"]["field"] == "status"
    assert api("GET", "/jobs/not-a-number")[0] == 422


def test_list_pages_and_filters_by_creation_time(api: Any, db: Session) -> None:
    for i in range(3):
        api("POST", "/jobs", {**JOB, "job_name": f"page-{i}"})
    db.execute(
        update(TrainingJob).where(TrainingJob.job_name == "page-0").values(created_at="2020-01-01T00:00:00Z")
    )
    db.commit()
    _, first = api("GET", "/jobs", query={"limit": "2"})
    _, second = api("GET", "/jobs", query={"limit": "2", "cursor": first["next_cursor"]})
    assert [j["job_name"] for j in first["jobs"] + second["jobs"]] == ["page-2", "page-1", "page-0"]
    _, old = api("GET", "/jobs", query={"created_before": "2021-01-01T00:00:00Z"})
    assert [j["job_name"] for j in old["jobs"]] == ["page-0"]


def test_builds_start_and_are_listed(api: Any, db: Session) -> None:
    request = {"base_image": "python:3.12-slim", "tag": "v1", "files": {"train.py": "print('hi')\n"}}
    status, build = api("POST", "/builds", request)
    assert status == 202 and build["status"] == "QUEUED" and build["image_uri"].endswith(":v1")
    status, fetched = api("GET", f"/builds/{build['id']}")
    assert status == 200 and fetched["build_id"] == build["build_id"]
    status, page = api("GET", "/builds")
    assert status == 200 and [b["id"] for b in page["builds"]] == [build["id"]]
    assert api("GET", "/builds/999")[0] == 404
    status, _ = api("POST", "/builds", {**request, "tag": "v1.1"})
    assert status == 202
    assert [b["id"] for b in api("GET", "/builds", query={"tag": "v1"})[1]["builds"]] == [build["id"]]
    assert [b["id"] for b in api("GET", "/builds", query={"tag": "1"})[1]["builds"]] == []  # the whole tag
    assert (
        api("GET", "/builds", query={"tag": "v1", "status": "SUCCEEDED"})[1]["builds"] == []
    )  # still QUEUED
    status, refused = api("GET", "/builds", query={"tag": "-v1", "status": "DONE"})
    assert status == 422 and {p["field"] for p in refused["error"]["problems"]} == {"tag", "status"}


def test_bad_builds_name_the_field(api: Any) -> None:
    status, body = api(
        "POST", "/builds", {"base_image": "python:3", "tag": "v1", "files": {"../evil.py": "x"}}
    )
    assert status == 422 and body["error"]["field"] == "files.../evil.py"
    status, body = api("POST", "/builds", {"base_image": "NOT VALID", "tag": "v1"})
    assert status == 422 and body["error"]["field"] == "base_image"


def test_the_openapi_document_validates_and_every_route_is_tested(api: Any) -> None:
    from openapi_spec_validator import validate

    status, document = api("GET", "/openapi.json")
    assert status == 200
    validate(document)
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    tested = {
        ("GET", "/health"), ("GET", "/config/validation"), ("POST", "/roles"), ("POST", "/datasets"),
        ("POST", "/jobs"), ("GET", "/jobs"), ("GET", "/jobs/{job_id}"), ("POST", "/jobs/{job_id}/cancel"),
        ("POST", "/jobs/dry-run"),
        ("GET", "/jobs/{job_id}/logs"), ("GET", "/jobs/{job_id}/metrics"), ("GET", "/datasets/{name}"),
        ("GET", "/jobs/{job_id}/artifacts"),  # tests/e2e/test_cli_front_door.py (a real job's archives)
        ("POST", "/builds"), ("GET", "/builds/{build_id}"), ("GET", "/builds"),
        # tests/integration/handlers/test_teams.py
        ("GET", "/teams"), ("GET", "/teams/{name}"), ("PUT", "/teams/{name}"), ("DELETE", "/teams/{name}"),
        ("GET", "/teams/{name}/usage"), ("GET", "/me"), ("GET", "/pools"),
        # tests/integration/handlers/test_notifications.py
        ("GET", "/teams/{name}/notifications"), ("POST", "/teams/{name}/notifications/test"),
        # tests/integration/handlers/test_tuning.py
        ("POST", "/tuning-jobs"), ("GET", "/tuning-jobs"), ("GET", "/tuning-jobs/{tuning_job_id}"),
        ("POST", "/tuning-jobs/{tuning_job_id}/cancel"),
    }  # fmt: skip
    assert documented == tested


def test_swagger_ui_is_served(api: Any) -> None:
    status, body = api("GET", "/swagger")
    assert status == 200 and "swagger" in str(body).lower()


def test_a_submission_that_cannot_be_queued_stays_pending(api: Any, db: Session) -> None:
    status, job = api("POST", "/jobs", {**JOB, "job_name": "queued-later"})
    assert status == 202
    assert db.scalars(select(TrainingJob).where(TrainingJob.id == job["id"])).one().status == "Pending"


@pytest.mark.calendar
def test_a_jobs_logs_are_read_through_the_api_page_by_page(api: Any, db: Session) -> None:
    import boto3

    from trainforge.tracking.logs import LOG_GROUP

    status, job = api("POST", "/jobs", {**JOB, "job_name": "logs-through-api"})
    assert status == 202
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName=LOG_GROUP)
    for host, offset in (("algo-1", 0), ("algo-2", 5)):
        stream = f"logs-through-api/{host}-{moved_millis(1_795_867_000_000) // 1000}"
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[
                {"timestamp": moved_millis(1_795_867_000_000) + offset + 10 * n, "message": f"{host} {n}"}
                for n in range(3)
            ],
        )
    status, first = api("GET", f"/jobs/{job['id']}/logs", query={"limit": "4"})
    assert status == 200, first
    assert [e["message"] for e in first["events"]] == ["algo-1 0", "algo-2 0", "algo-1 1", "algo-2 1"]
    status, rest = api("GET", f"/jobs/{job['id']}/logs", query={"next_token": first["next_token"]})
    assert [e["message"] for e in rest["events"]] == ["algo-1 2", "algo-2 2"]
    status, one = api("GET", f"/jobs/{job['id']}/logs", query={"instance": "algo-2", "limit": "1"})
    assert [e["instance"] for e in one["events"]] == ["algo-2"]
    assert api("GET", "/jobs/999999/logs")[0] == 404
    status, refused = api("GET", f"/jobs/{job['id']}/logs", query={"next_token": "Zm9yZ2Vk"})
    assert status in (400, 422) and refused["error"]["field"] == "next_token"


@pytest.mark.calendar
def test_a_jobs_metric_curves_are_read_through_the_api(api: Any, db: Session) -> None:
    from datetime import UTC, datetime, timedelta

    import boto3

    from trainforge.tracking.metrics import NAMESPACE

    status, job = api("POST", "/jobs", {**JOB, "job_name": "curves-through-api"})
    assert status == 202
    now = datetime.now(UTC).replace(microsecond=0)
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {"MetricName": "train:loss", "Dimensions": [{"Name": "TrainingJobName", "Value": "curves-through-api"}],
             "Value": value, "Timestamp": now + timedelta(seconds=n), "StorageResolution": 1}
            for n, value in enumerate([0.9, 0.4, 0.2])
        ],
    )  # fmt: skip
    status, curves = api("GET", f"/jobs/{job['id']}/metrics")
    assert status == 200, curves
    assert [p["value"] for p in curves["series"]["train:loss"]] == [0.9, 0.4, 0.2]
    assert curves["period_seconds"] == 1 and curves["final_metrics"] == {}
    assert api("GET", "/jobs/999999/metrics")[0] == 404


def test_a_submission_answers_its_cost_ceiling_before_it_runs(api: Any, db: Session) -> None:
    status, job = api("POST", "/jobs", {**JOB, "job_name": "priced-1", "max_runtime_seconds": 7200})
    assert status == 202 and job["status"] == "Pending"
    assert job["cost_ceiling_usd"] == 0.46  # ml.m5.xlarge at $0.23 an hour, at most 2 hours
    status, shown = api("GET", f"/jobs/{job['id']}")
    assert shown["cost_ceiling_usd"] == 0.46 and shown["report"] is None


def test_a_dry_run_checks_everything_and_records_nothing(api: Any, db: Session) -> None:
    import boto3

    from trainforge import repository
    from trainforge.db import SessionDatabase

    repository.store_quotas(
        SessionDatabase(db),
        [{"pool": "ml.m5.xlarge", "instance_type": "ml.m5.xlarge", "spot": False, "quota": 1}],
    )
    db.commit()
    ecr = boto3.client("ecr", region_name="us-east-1")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [],
    }
    ecr.put_image(repositoryName="trainforge-training", imageManifest=json.dumps(manifest), imageTag="churn")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:churn"
    status, checked = api(
        "POST", "/jobs/dry-run", {**JOB, "job_name": "dry-1", "max_runtime_seconds": 3600, "image_uri": image}
    )
    assert status == 200, checked
    assert checked["cost_ceiling_usd"] == 0.23 and checked["price"]["source"].startswith("bundled table")
    assert checked["capacity"] == {
        "pool": "ml.m5.xlarge", "quota": 1, "quota_source": "service-quotas",
        "quota_read_at": checked["capacity"]["quota_read_at"], "in_use": 0, "limit": 1, "waiting": 0,
        "would_wait": False,
    }  # fmt: skip
    assert checked["image"]["exists"] is True and checked["channels"] == ["training"]
    assert db.scalars(select(TrainingJob)).all() == []

    status, missing = api("POST", "/jobs/dry-run", {**JOB, "job_name": "dry-2", "image_uri": image + "x"})
    assert status == 200 and missing["image"]["exists"] is False
    status, too_many = api("POST", "/jobs/dry-run", {**JOB, "job_name": "dry-3", "instance_count": 2})
    assert status == 200 and too_many["capacity"]["would_wait"] is True
    status, invalid = api("POST", "/jobs/dry-run", {**JOB, "job_name": "dry-4", "priority": 101})
    assert status == 422 and invalid["error"]["field"] == "priority"


def test_a_waiting_job_is_listed_by_its_status_and_shows_why(api: Any, db: Session) -> None:
    from trainforge import repository
    from trainforge.db import SessionDatabase

    repository.store_quotas(
        SessionDatabase(db),
        [{"pool": "ml.m5.xlarge", "instance_type": "ml.m5.xlarge", "spot": False, "quota": 0}],
    )
    db.commit()
    status, job = api(
        "POST", "/jobs", {**JOB, "job_name": "waits-1", "priority": 3, "max_queue_seconds": 600}
    )
    assert status == 202 and job["priority"] == 3
    # What the submission worker does with the request: the pool has no room, so the job waits.
    from trainforge.services.sagemaker_training_service import SageMakerTrainingService

    repository.store_quotas(
        SessionDatabase(db),
        [{"pool": "ml.m5.xlarge", "instance_type": "ml.m5.xlarge", "spot": False, "quota": 1}],
    )
    db.commit()
    db.execute(update(TrainingJob).values(capacity_held=0))
    repository.ensure_pool(SessionDatabase(db), "ml.m5.xlarge", "ml.m5.xlarge", False)
    db.execute(text("UPDATE instance_capacity SET in_use = 1"))
    db.commit()
    assert SageMakerTrainingService(sleep=lambda _s: None).submit_pending_job(job["id"], db) is False
    db.commit()
    status, page = api("GET", "/jobs", query={"status": "WaitingForCapacity"})
    assert status == 200 and [j["job_name"] for j in page["jobs"]] == ["waits-1"]
    status, shown = api("GET", f"/jobs/{job['id']}")
    assert shown["queue"]["position"] == 1 and shown["queue"]["deadline"]
    assert shown["history"][-1]["detail"] == "ml.m5.xlarge: 1 of 1 instances in use by this account"
    status, cancelled = api("POST", f"/jobs/{job['id']}/cancel")
    assert status == 200 and cancelled["job"]["status"] == "Stopped"
