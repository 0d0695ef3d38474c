"""Teams through the API handler, as API Gateway's SigV4 identity names the caller: every route with a member of
each team, a principal of no team and an administrator; other teams' jobs and builds are 404; budgets and limits
refuse with the numbers; S3 drops belong to the team of their prefix."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import api_request, invoke, sqs_batch

ADMIN = "arn:aws:iam::123456789012:user/ml-engineer"  # TRAINFORGE_ADMIN_PRINCIPALS in tests/conftest.py
VISION = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"  # a session of a member role
FORECAST = "arn:aws:sts::123456789012:assumed-role/shared-ml/forecast-bob"  # matches a session pattern
NOBODY = "arn:aws:sts::123456789012:assumed-role/shared-ml/intern-carol"  # the shared role, but no pattern
TEAMS = {
    "vision": {
        "members": ["arn:aws:iam::123456789012:role/vision-engineers"],
        "monthly_budget_usd": 100,
        "allowed_instance_types": ["ml.m5.xlarge", "ml.m5.large"],
        "max_runtime_seconds": 7200,
    },
    "forecast": {
        "members": ["arn:aws:sts::123456789012:assumed-role/shared-ml/forecast-*"],
        "monthly_budget_usd": 1,
    },
}


TUNING = {
    "tuning_job_name": "vision-tune", "dataset_uri": "s3://trainforge-datasets/datasets/vision/churn/",
    "objective_metric": "acc", "strategy": "Random", "max_jobs": 2,
    "parameter_ranges": [{"name": "lr", "kind": "continuous", "min_value": 0.01, "max_value": 0.1}],
    "training": {"instance_type": "ml.m5.xlarge", "max_runtime_seconds": 600,
                 "metric_definitions": [{"Name": "acc", "Regex": "acc=([0-9.]+)"}]},
}  # fmt: skip


def job(prefix_team: str, name: str, **more: Any) -> dict[str, Any]:
    return {
        "job_name": name,
        "dataset_uri": f"s3://trainforge-datasets/datasets/{prefix_team}/churn/",
        "instance_type": "ml.m5.xlarge",
        "max_runtime_seconds": 3600,
        **more,
    }


@pytest.fixture
def api(handlers: Any) -> Any:
    module = handlers("api")

    def call(
        method: str, path: str, body: Any = None, *, principal: str = ADMIN, **kwargs: Any
    ) -> tuple[int, Any]:
        response = invoke(module, api_request(method, path, body, principal=principal, **kwargs))
        return response["statusCode"], json.loads(response["body"]) if response["body"] else None

    return call


@pytest.fixture
def teams(api: Any) -> Any:
    for name, definition in TEAMS.items():
        status, body = api("PUT", f"/teams/{name}", definition)
        assert status == 201, body
    return api


def every_operation(job_id: int, build_id: int) -> list[tuple[str, str, Any]]:
    sha = hashlib.sha256(b"x").hexdigest()
    upload = {"name": "d", "metadata_file": "m.csv", "files": [{"path": "a.csv", "size": 1, "sha256": sha}]}
    return [
        ("GET", "/config/validation", None), ("POST", "/roles", {"role_name": "r"}), ("POST", "/datasets", upload),
        ("POST", "/jobs", job("vision", "op-job")), ("POST", "/jobs/dry-run", job("vision", "op-job")),
        ("GET", "/jobs", None), ("GET", f"/jobs/{job_id}", None), ("POST", f"/jobs/{job_id}/cancel", None),
        ("GET", f"/jobs/{job_id}/logs", None), ("GET", f"/jobs/{job_id}/metrics", None),
        ("GET", f"/jobs/{job_id}/artifacts", None), ("GET", "/datasets/d", None),
        ("POST", "/builds", {"base_image": "python:3.12-slim", "tag": "t"}), ("GET", f"/builds/{build_id}", None),
        ("GET", "/builds", None), ("GET", "/teams", None), ("GET", "/teams/vision", None),
        ("PUT", "/teams/x", {"members": []}), ("DELETE", "/teams/x", None), ("GET", "/teams/vision/usage", None),
        ("GET", "/teams/vision/notifications", None), ("POST", "/teams/vision/notifications/test", None),
        ("POST", "/tuning-jobs", TUNING), ("GET", "/tuning-jobs", None), ("GET", "/tuning-jobs/1", None),
        ("POST", "/tuning-jobs/1/cancel", None), ("GET", "/me", None), ("GET", "/pools", None),
    ]  # fmt: skip


def test_a_principal_of_no_team_is_refused_on_every_route_but_health(teams: Any) -> None:
    status, submitted = teams("POST", "/jobs", job("vision", "vision-1"), principal=VISION)
    assert status == 202
    documented = {
        (m.upper(), p) for p, item in teams("GET", "/openapi.json")[1]["paths"].items() for m in item
    }
    operations = every_operation(submitted["id"], 1)
    assert len(operations) == len(documented) - 1  # every operation but /health
    for method, path, body in operations:
        status, answer = teams(method, path, body, principal=NOBODY)
        assert status == 403, (method, path, answer)
        assert answer["error"]["code"] == "forbidden"
        assert "belongs to no Trainforge team" in answer["error"]["message"], (method, path)
    assert teams("GET", "/health", principal=NOBODY)[0] == 200


ADMIN_ONLY = {("POST", "/roles"), ("PUT", "/teams/x"), ("DELETE", "/teams/x")}


@pytest.mark.parametrize("principal", [VISION, FORECAST, ADMIN])
def test_every_route_answers_each_teams_member_and_the_administrators(teams: Any, principal: str) -> None:
    status, submitted = teams("POST", "/jobs", job("vision", "vision-1"), principal=VISION)
    assert status == 202
    status, build = teams("POST", "/builds", {"base_image": "python:3.12-slim", "tag": "t"}, principal=VISION)
    assert status == 202
    for method, path, body in every_operation(submitted["id"], build["id"]):
        if principal == FORECAST and "vision" in json.dumps(body or path):
            continue  # vision's dataset or team: covered by the scoping tests below
        status, answer = teams(method, path, body, principal=principal)
        if principal != ADMIN and (method, path) in ADMIN_ONLY:
            assert status == 403 and "only Trainforge administrators" in answer["error"]["message"], (
                method,
                path,
            )
        elif principal == FORECAST and (str(submitted["id"]) in path or str(build["id"]) in path):
            assert status == 404, (method, path, answer)  # vision's job and build
        else:
            assert status < 500 and status != 403, (principal, method, path, answer)


def test_a_member_sees_and_touches_only_its_teams_jobs(teams: Any) -> None:
    status, mine = teams("POST", "/jobs", job("vision", "vision-1"), principal=VISION)
    assert status == 202 and mine["team"] == "vision" and mine["submitted_by"] == VISION
    job_id = mine["id"]
    for method, path in (("GET", f"/jobs/{job_id}"), ("POST", f"/jobs/{job_id}/cancel"),
                         ("GET", f"/jobs/{job_id}/logs"), ("GET", f"/jobs/{job_id}/metrics")):  # fmt: skip
        status, answer = teams(method, path, principal=FORECAST)
        assert status == 404 and answer["error"]["message"] == f"no training job with id {job_id}", (
            method,
            path,
        )
    # the same answer as for an id that does not exist: ids reveal nothing
    missing = teams("GET", "/jobs/999999", principal=FORECAST)[1]["error"]
    assert (missing["code"], missing["message"]) == ("not_found", "no training job with id 999999")
    assert teams("GET", "/jobs", principal=FORECAST)[1]["jobs"] == []
    assert [j["id"] for j in teams("GET", "/jobs", principal=VISION)[1]["jobs"]] == [job_id]
    # asking for another team's listing never widens a member's
    assert teams("GET", "/jobs", query={"team": "vision"}, principal=FORECAST)[1]["jobs"] == []
    assert teams("GET", f"/jobs/{job_id}", principal=VISION)[0] == 200
    status, cancelled = teams("POST", f"/jobs/{job_id}/cancel", principal=VISION)
    assert status == 200 and cancelled["cancelled"] is True


def test_the_caller_learns_who_the_api_takes_it_for(teams: Any) -> None:
    assert teams("GET", "/me", principal=VISION) == (
        200,
        {"principal": VISION, "admin": False, "team": "vision"},
    )
    assert teams("GET", "/me", principal=ADMIN) == (200, {"principal": ADMIN, "admin": True, "team": None})


def test_a_member_sees_every_pools_line_but_only_its_teams_jobs_in_it(teams: Any, database: Any) -> None:
    database.rows(
        "INSERT INTO instance_capacity (pool, instance_type, spot, quota, quota_source) "
        "VALUES ('ml.m5.xlarge', 'ml.m5.xlarge', false, 1, 'service-quotas') RETURNING pool"
    )
    database.commit()
    ids = {}
    for principal, name in ((VISION, "vision-1"), (FORECAST, "forecast-1"), (VISION, "vision-2")):
        prefix = "forecast" if principal == FORECAST else "vision"
        status, submitted = teams("POST", "/jobs", job(prefix, name), principal=principal)
        assert status == 202, submitted
        ids[name] = submitted["id"]
    database.rows(  # the first holds the pool's one instance; the others wait behind it, in submission order
        "UPDATE training_jobs SET status = CASE WHEN job_name = 'vision-1' THEN 'InProgress' "
        "ELSE 'WaitingForCapacity' END, capacity_pool = 'ml.m5.xlarge', waiting_since = now() RETURNING id"
    )
    database.commit()

    def line(principal: str) -> tuple[int, list[tuple[str, int]]]:
        status, answer = teams("GET", "/pools", principal=principal)
        assert status == 200, answer
        (pool,) = [p for p in answer["pools"] if p["pool"] == "ml.m5.xlarge"]
        return pool["waiting"], [(j["job_name"], j["position"]) for j in pool["jobs"]]

    assert line(ADMIN) == (2, [("forecast-1", 1), ("vision-2", 2)])
    assert line(VISION) == (2, [("vision-2", 2)])
    assert line(FORECAST) == (2, [("forecast-1", 1)])
    # the place the list gives is the one the job's own status gives
    assert teams("GET", f"/jobs/{ids['vision-2']}", principal=VISION)[1]["queue"]["position"] == 2


def test_administrators_see_every_team_and_filter_by_team(teams: Any) -> None:
    first = teams("POST", "/jobs", job("vision", "vision-1"), principal=VISION)[1]
    assert teams("GET", f"/jobs/{first['id']}")[0] == 200
    assert [j["id"] for j in teams("GET", "/jobs")[1]["jobs"]] == [first["id"]]
    assert teams("GET", "/jobs", query={"team": "forecast"})[1]["jobs"] == []
    assert [j["id"] for j in teams("GET", "/jobs", query={"team": "vision"})[1]["jobs"]] == [first["id"]]
    status, for_forecast = teams("POST", "/jobs", job("forecast", "admin-for-forecast", max_runtime_seconds=60,
                                                      team="forecast"))  # fmt: skip
    assert status == 202 and for_forecast["team"] == "forecast"
    status, mine = teams("POST", "/jobs", job("churn", "admin-own"))
    assert status == 202 and mine["team"] is None
    assert teams("GET", f"/jobs/{mine['id']}", principal=VISION)[0] == 404


def test_a_member_cannot_submit_for_another_team_nor_read_its_datasets(teams: Any) -> None:
    status, answer = teams("POST", "/jobs", job("vision", "x-1", team="forecast"), principal=VISION)
    assert status == 403 and "only for its team (vision)" in answer["error"]["message"]
    status, answer = teams("POST", "/jobs", job("forecast", "x-2"), principal=VISION)
    assert status == 422 and answer["error"]["field"] == "dataset_uri"
    assert "s3://trainforge-datasets/datasets/vision/" in answer["error"]["message"]


def test_team_limits_on_instance_types_and_runtime_are_422s_naming_the_field(teams: Any) -> None:
    status, answer = teams(
        "POST", "/jobs", job("vision", "x-3", instance_type="ml.c5.xlarge"), principal=VISION
    )
    assert status == 422 and answer["error"]["code"] == "team_limit"
    assert (
        answer["error"]["field"] == "instance_type"
        and "ml.m5.large, ml.m5.xlarge" in answer["error"]["message"]
    )
    status, answer = teams("POST", "/jobs", job("vision", "x-4", max_runtime_seconds=7201), principal=VISION)
    assert status == 422 and answer["error"]["field"] == "max_runtime_seconds"


@pytest.mark.calendar
def test_a_job_over_the_budget_is_refused_with_the_figures_and_leaves_no_record(teams: Any) -> None:
    # forecast's budget is $1; ml.m5.xlarge for five hours costs more
    five_hours = job("forecast", "f-1", max_runtime_seconds=18000)
    status, answer = teams("POST", "/jobs", five_hours, principal=FORECAST)
    assert status == 422 and answer["error"]["code"] == "budget_exceeded"
    message = answer["error"]["message"]
    for figure in ("monthly budget is $1.00", "$0.00 spent", "$0.00 committed", "projected ceiling is $1.15"):
        assert figure in message, message
    assert teams("GET", "/jobs", principal=FORECAST)[1]["jobs"] == []
    status, dry = teams("POST", "/jobs/dry-run", five_hours, principal=FORECAST)
    assert status == 422 and dry["error"]["code"] == "budget_exceeded"
    # a smaller ceiling fits, and is committed
    status, small = teams(
        "POST", "/jobs", job("forecast", "f-2", max_runtime_seconds=600), principal=FORECAST
    )
    assert status == 202
    team = teams("GET", "/teams/forecast", principal=FORECAST)[1]
    assert team["this_month"]["committed_usd"] == pytest.approx(small["cost_ceiling_usd"])
    assert team["this_month"]["remaining_usd"] == pytest.approx(1 - small["cost_ceiling_usd"])
    # cancelled before it ran: its commitment comes back at once
    assert teams("POST", f"/jobs/{small['id']}/cancel", principal=FORECAST)[1]["cancelled"] is True
    assert teams("GET", "/teams/forecast", principal=FORECAST)[1]["this_month"]["committed_usd"] == 0


@pytest.mark.calendar
def test_teams_are_managed_by_administrators_and_read_by_their_members(teams: Any) -> None:
    assert teams("PUT", "/teams/vision", {"members": []}, principal=VISION)[0] == 403
    assert teams("DELETE", "/teams/vision", principal=VISION)[0] == 403
    assert [t["name"] for t in teams("GET", "/teams", principal=VISION)[1]["teams"]] == ["vision"]
    assert teams("GET", "/teams/forecast", principal=VISION)[0] == 404
    assert teams("GET", "/teams/vision/usage", principal=VISION)[0] == 200
    assert teams("GET", "/teams/forecast/usage", principal=VISION)[0] == 404
    assert sorted(t["name"] for t in teams("GET", "/teams")[1]["teams"]) == ["forecast", "vision"]
    status, replaced = teams("PUT", "/teams/vision", {**TEAMS["vision"], "monthly_budget_usd": 50})
    assert status == 200 and replaced["monthly_budget_usd"] == 50
    assert replaced["dataset_prefix"] == "datasets/vision/"
    status, bad = teams("PUT", "/teams/vision", {"members": ["arn:aws:iam::123456789012:root"]})
    assert status == 422 and bad["error"]["field"] == "members.0"
    teams("POST", "/jobs", job("vision", "v-busy"), principal=VISION)
    status, busy = teams("DELETE", "/teams/vision")
    assert status == 409 and "not finished" in busy["error"]["message"]
    assert teams("DELETE", "/teams/forecast")[0] == 200
    assert teams("GET", "/jobs", principal=FORECAST)[0] == 403  # no team any more


def test_builds_are_scoped_like_jobs(teams: Any) -> None:
    status, build = teams(
        "POST", "/builds", {"base_image": "python:3.12-slim", "tag": "v1"}, principal=VISION
    )
    assert status == 202 and build["team"] == "vision"
    assert teams("GET", f"/builds/{build['id']}", principal=FORECAST)[0] == 404
    assert teams("GET", "/builds", principal=FORECAST)[1]["builds"] == []
    assert [b["id"] for b in teams("GET", "/builds", principal=VISION)[1]["builds"]] == [build["id"]]
    assert teams("GET", f"/builds/{build['id']}")[0] == 200


def test_a_members_upload_urls_are_under_its_teams_prefix(teams: Any) -> None:
    sha = hashlib.sha256(b"x").hexdigest()
    request = {
        "name": "churn",
        "metadata_file": "m.csv",
        "files": [{"path": "a.csv", "size": 1, "sha256": sha}],
    }
    status, body = teams("POST", "/datasets", request, principal=VISION)
    assert status == 200, body
    assert body["dataset_uri"] == "s3://trainforge-datasets/datasets/vision/churn/"
    assert {u["key"] for u in body["uploads"]} == {
        "datasets/vision/churn/a.csv",
        "datasets/vision/churn/m.csv",
    }


def test_the_local_principal_header_stands_for_api_gateways_identity_in_local_mode(teams: Any) -> None:
    status, answer = teams("GET", "/jobs", principal=None, headers={"X-Trainforge-Principal": NOBODY})
    assert status == 403 and NOBODY in answer["error"]["message"]
    status, _ = teams("GET", "/teams/vision", headers={"X-Trainforge-Principal": VISION})
    assert status == 200


def drop(handlers: Any, key: str, body: dict[str, Any]) -> None:
    import boto3

    stored = boto3.client("s3", region_name="us-east-1").put_object(
        Bucket="trainforge-datasets", Key=key, Body=json.dumps(body).encode()
    )
    event = load_event("s3_object_created.json")
    event["detail"]["object"]["key"] = quote_plus(key, safe="/")
    event["detail"]["object"]["etag"] = stored["ETag"].strip('"')
    event["detail"]["object"].pop("version-id")
    invoke(handlers("submissions"), sqs_batch(event))


def test_s3_drops_belong_to_the_team_of_their_prefix(teams: Any, handlers: Any, db: Session) -> None:
    spec = {"dataset_uri": "s3://trainforge-datasets/datasets/vision/churn/", "instance_type": "ml.m5.xlarge",
            "max_runtime_seconds": 600}  # fmt: skip
    drop(handlers, "jobs/vision/run-1.json", {**spec, "job_name": "drop-vision-1"})
    drop(handlers, "jobs/nobody/run-2.json", {**spec, "job_name": "drop-nobody-2"})
    drop(handlers, "jobs/forecast/run-3.json", {**spec, "job_name": "drop-forecast-3",
         "dataset_uri": "s3://trainforge-datasets/datasets/forecast/x/", "max_runtime_seconds": 86400})  # fmt: skip
    drop(handlers, "jobs/forecast/run-4.json", {**spec, "job_name": "drop-forecast-4"})
    rows = {
        r.job_name: r
        for r in db.execute(text("SELECT job_name, team, status, failure_reason FROM training_jobs"))
    }
    assert rows["drop-vision-1"].team == "vision" and rows["drop-vision-1"].status != "Rejected"
    outside = [r for r in rows.values() if r.team is None]
    assert len(outside) == 1 and outside[0].status == "Rejected"
    assert "outside every team's prefix (jobs/<team>/ for forecast, vision)" in outside[0].failure_reason
    assert rows["drop-forecast-3"].status == "Rejected" and rows["drop-forecast-3"].team == "forecast"
    assert "team forecast's monthly budget is $1.00" in rows["drop-forecast-3"].failure_reason
    assert rows["drop-forecast-4"].status == "Rejected"  # vision's dataset: not forecast's to read
    assert "datasets/forecast/" in rows["drop-forecast-4"].failure_reason
