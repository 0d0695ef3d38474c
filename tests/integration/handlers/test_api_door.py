"""Hostile requests written the way clients and fuzzers send them, as API Gateway delivers them: each gets a clear
4xx naming the rule (and the field where there is one), never a 500, and nothing is written."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.lambda_support import api_request, invoke
from trainforge.models.database import TrainingJob

JOB = {"job_name": "door-1", "dataset_uri": "s3://trainforge-datasets/datasets/churn/"}


@pytest.fixture
def api_module(handlers: Any) -> Any:
    return handlers("api")


def call(module: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = invoke(module, event)
    headers = dict(response.get("headers") or {})
    headers.update({k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()})
    return response["statusCode"], json.loads(response["body"]), headers


def raw(method: str, path: str, body: str | None, content_type: str = "application/json", **kw: Any) -> Any:
    return api_request(method, path, raw_body=body, headers={"Content-Type": content_type}, **kw)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{", "malformed_json"),
        ("[" * 5000 + "]" * 5000, "json_too_deep"),
        ('{"job_name": ' + "[" * 40 + "]" * 40 + "}", "json_too_deep"),
        ('{"instance_count": ' + "9" * 5000 + "}", "json_number_too_long"),
        ('{"max_runtime_seconds": 1e999}', "malformed_json"),
        ('{"hyperparameters": {"lr": NaN}}', "malformed_json"),
    ],
)
def test_bodies_that_are_not_json_within_limits_are_400(
    api_module: Any, db: Session, body: str, code: str
) -> None:
    status, answer, _ = call(api_module, raw("POST", "/jobs", body))
    assert (status, answer["error"]["code"]) == (400, code)
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


def test_a_body_that_is_not_utf8_is_400(api_module: Any) -> None:
    event = raw("POST", "/jobs", base64.b64encode(b'{"job_name": "\xff\xfe"}').decode())
    event["isBase64Encoded"] = True
    status, answer, _ = call(api_module, event)
    assert status == 400 and "UTF-8" in answer["error"]["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded", ""]
)
def test_bodies_of_other_media_types_are_415(api_module: Any, content_type: str) -> None:
    status, answer, _ = call(api_module, raw("POST", "/jobs", "job_name=x", content_type))
    assert status == 415 and answer["error"]["field"] == "Content-Type"


def test_json_media_types_with_parameters_are_accepted(api_module: Any) -> None:
    status, _, _ = call(api_module, raw("POST", "/jobs", json.dumps(JOB), "application/json; charset=utf-8"))
    assert status == 202


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**JOB, "job_name": "a\x00b"}, "job_name"),
        ({**JOB, "hyperparameters": {"lr": "\ud800"}}, "hyperparameters.lr"),
        ({**JOB, "tags": {"\x00": "x"}}, "tags.\\u0000"),
    ],
)
def test_text_postgresql_cannot_store_is_422_naming_the_field(
    api_module: Any, db: Session, body: dict[str, Any], field: str
) -> None:
    # json.dumps escapes both as \u0000 and \ud800, exactly as a fuzzer sends them.
    status, answer, _ = call(api_module, raw("POST", "/jobs", json.dumps(body)))
    assert (status, answer["error"]["field"]) == (422, field)
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


def test_unstorable_text_in_a_query_parameter_or_header_is_422(api_module: Any) -> None:
    status, answer, _ = call(api_module, api_request("GET", "/jobs", query={"job_name": "x\x00"}))
    assert (status, answer["error"]["field"]) == (422, "job_name")
    status, answer, _ = call(api_module, api_request("GET", "/health", headers={"X-Trace": "\udcff"}))
    assert (status, answer["error"]["field"]) == (422, "X-Trace")


def test_a_body_over_one_mebibyte_is_413(api_module: Any) -> None:
    status, answer, _ = call(api_module, raw("POST", "/jobs", json.dumps({"x": "a" * (1024 * 1024)})))
    assert status == 413 and answer["error"]["code"] == "body_too_large"


@pytest.mark.parametrize("segment", ["1.0", "+1", "1_0", " 1", "١"])
def test_ids_are_whole_numbers_only(api_module: Any, segment: str) -> None:
    status, answer, _ = call(api_module, api_request("GET", f"/jobs/{segment}"))
    assert (status, answer["error"]["field"]) == (422, "job_id")


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [  # the first is what a fuzzer sent: answered 404 before, for the path of a known operation
        ("PUT", "/teams/⊖~8rè×8#ýb", "name"),
        ("GET", "/teams/a#b/usage", "name"),
        ("GET", "/jobs/1#2", "job_id"),
        ("POST", "/tuning-jobs/×/cancel", "tuning_job_id"),
    ],
)
def test_a_path_parameter_no_route_could_take_is_422_naming_it(
    api_module: Any, method: str, path: str, field: str
) -> None:
    body = {"members": ["arn:aws:iam::123456789012:role/x"]} if method == "PUT" else None
    status, answer, _ = call(api_module, api_request(method, path, body))
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (422, "invalid_parameter", field)
    assert call(api_module, api_request("GET", "/nowhere/a#b"))[0] == 404  # no operation has that shape


def test_a_wrong_method_on_a_known_path_is_405_with_allow(api_module: Any) -> None:
    status, answer, headers = call(api_module, api_request("DELETE", "/jobs/1"))
    assert status == 405 and headers["Allow"] == "GET"
    assert answer["error"]["code"] == "method_not_allowed"
    status, _, _ = call(api_module, api_request("GET", "/nowhere"))
    assert status == 404


def test_an_unknown_status_filter_lists_the_statuses_in_words(api_module: Any) -> None:
    status, answer, _ = call(api_module, api_request("GET", "/jobs", query={"status": "Nope"}))
    assert (status, answer["error"]["field"]) == (422, "status")
    assert (
        "Pending, WaitingForCapacity, InProgress" in answer["error"]["message"]
        and "[" not in answer["error"]["message"]
    )


def test_a_time_outside_the_calendar_after_utc_conversion_is_422(api_module: Any) -> None:
    query = {"created_after": "0001-01-01T00:00:00+00:05"}
    status, answer, _ = call(api_module, api_request("GET", "/jobs", query=query))
    assert (status, answer["error"]["field"]) == (422, "created_after")
    status, _, _ = call(api_module, api_request("GET", "/jobs"))
    assert status == 200  # the connection that saw the bad time is not reused broken


def test_dataset_settings_are_refused_before_the_upload_not_after(api_module: Any) -> None:
    request = {
        "name": "churn",
        "metadata_file": "metadata.csv",
        "files": [{"path": "a.csv", "size": 1, "sha256": "0" * 64}],
        "training": {"instance_type": "ml.m5.gigantic", "instance_count": 0},
    }
    status, answer, _ = call(api_module, raw("POST", "/datasets", json.dumps(request)))
    assert status == 422
    assert {p["field"] for p in answer["error"]["problems"]} == {
        "training.instance_type",
        "training.instance_count",
    }


def test_a_role_trainforge_did_not_create_is_a_409_and_left_untouched(
    api_module: Any, handler_env: dict[str, str]
) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName="team-admin", Path="/", AssumeRolePolicyDocument=trust)
    status, answer, _ = call(api_module, raw("POST", "/roles", json.dumps({"role_name": "team-admin"})))
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (409, "conflict", "role_name")
    role = iam.get_role(RoleName="team-admin")["Role"]
    assert role["AssumeRolePolicyDocument"] == {"Version": "2012-10-17", "Statement": []}
    assert iam.list_role_policies(RoleName="team-admin")["PolicyNames"] == []


def test_a_role_trainforge_created_is_updated_again(api_module: Any) -> None:
    body = json.dumps({"role_name": "team-x"})
    first, _, _ = call(api_module, raw("POST", "/roles", body))
    again, answer, _ = call(api_module, raw("POST", "/roles", body))
    assert (first, again) == (201, 201) and answer["role_arn"].endswith(":role/trainforge/team-x")
