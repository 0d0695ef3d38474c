"""Asking to start on a finished job's warm pool: the new job takes the settings SageMaker matches a pool on, or is
refused naming why; through the API, the pool's status as SageMaker's events reported it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import api_request, invoke, sqs_batch

FIRST = {
    "job_name": "pool-owner", "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
    "instance_type": "ml.m5.xlarge", "instance_count": 2, "keep_alive_seconds": 900, "volume_size_gb": 50,
}  # fmt: skip


@pytest.fixture
def api(handlers: Any) -> Any:
    module = handlers("api")

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        response = invoke(module, api_request(method, path, body, **kwargs))
        return response["statusCode"], json.loads(response["body"])

    return call


def finished_with_pool(handlers: Any, name: str, status: str) -> None:
    event = copy.deepcopy(load_event("sagemaker_training_completed.json"))
    event["detail"].update({
        "TrainingJobName": name, "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2,
                                                    "VolumeSizeInGB": 50, "KeepAlivePeriodInSeconds": 900},
        "WarmPoolStatus": {"Status": status, "ResourceRetainedBillableTimeInSeconds": 60},
    })  # fmt: skip
    assert invoke(handlers("training_state"), sqs_batch(event)) == {"batchItemFailures": []}


def test_a_job_asking_for_an_available_pool_takes_its_settings(api: Any, handlers: Any, db: Session) -> None:
    assert api("POST", "/jobs", FIRST)[0] == 202
    finished_with_pool(handlers, "pool-owner", "Available")
    body = {"job_name": "pool-user", "dataset_uri": FIRST["dataset_uri"], "reuse_warm_pool_of": "pool-owner"}
    status, job = api("POST", "/jobs", body)
    assert status == 202, job
    assert (job["instance_type"], job["instance_count"]) == ("ml.m5.xlarge", 2)
    status, dry = api("POST", "/jobs/dry-run", {**body, "job_name": "pool-user-2"})
    assert status == 200, dry
    assert (dry["instance_type"], dry["instance_count"]) == ("ml.m5.xlarge", 2)
    stored = db.execute(text("SELECT config FROM training_jobs WHERE job_name = 'pool-user'")).scalar_one()
    assert (stored["volume_size_gb"], stored["keep_alive_seconds"]) == (50, 900)


def test_a_setting_that_differs_from_the_pool_is_named(api: Any, handlers: Any) -> None:
    api("POST", "/jobs", FIRST)
    finished_with_pool(handlers, "pool-owner", "Available")
    body = {"job_name": "pool-user", "dataset_uri": FIRST["dataset_uri"], "reuse_warm_pool_of": "pool-owner",
            "instance_type": "ml.m5.large"}  # fmt: skip
    status, answer = api("POST", "/jobs", body)
    assert status == 422 and [p["field"] for p in answer["error"]["problems"]] == ["instance_type"]
    assert "differs from pool-owner's warm pool ('ml.m5.xlarge')" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("pool", "reason"), [("Terminated", "warm pool is Terminated"), (None, "there is no job")]
)
def test_a_pool_that_cannot_be_reused_is_refused_with_why(
    api: Any, handlers: Any, pool: str | None, reason: str
) -> None:
    if pool:
        api("POST", "/jobs", FIRST)
        finished_with_pool(handlers, "pool-owner", pool)
    body = {"job_name": "pool-user", "dataset_uri": FIRST["dataset_uri"], "reuse_warm_pool_of": "pool-owner"}
    status, answer = api("POST", "/jobs", body)
    assert status == 422 and answer["error"]["field"] == "reuse_warm_pool_of"
    assert reason in answer["error"]["message"]
