"""Hyperparameter tuning jobs through the handlers, on real PostgreSQL and moto's server: submitted through the
API and the submission queue (CreateHyperParameterTuningJob in moto), followed through SageMaker's tuning events
in any order and any number of times, their trials linked by their events' TuningJobArn and shown best first."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.lambda_support import api_request, invoke, sqs_batch

TUNING = {
    "tuning_job_name": "churn-tune-1",
    "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
    "objective_metric": "validation:accuracy",
    "strategy": "Random",
    "max_jobs": 6,
    "max_parallel_jobs": 2,
    "parameter_ranges": [
        {"name": "lr", "kind": "continuous", "min_value": 0.001, "max_value": 0.5, "scaling": "Logarithmic"}
    ],
    "training": {
        "instance_type": "ml.m5.large",
        "max_runtime_seconds": 3600,
        "hyperparameters": {"epochs": 10},
        "metric_definitions": [{"Name": "validation:accuracy", "Regex": "val_acc=([0-9.]+)"}],
    },
}
TUNING_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-tune-1"


@pytest.fixture
def api(handlers: Any) -> Any:
    module = handlers("api")

    def call(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        response = invoke(module, api_request(method, path, body, **kwargs))
        return response["statusCode"], json.loads(response["body"]) if response["body"] else None

    return call


def requested(tuning_id: int) -> dict[str, Any]:
    """The "Training Job Requested" event the API puts on the bus for a tuning job."""
    return {
        "version": "0", "id": "5f1c2a9e-8b1d-4c1e-9f0a-3b2c1d4e5f60", "detail-type": "Training Job Requested",
        "source": "trainforge", "account": "123456789012", "time": "2026-11-28T13:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"tuning_job_id": tuning_id},
    }  # fmt: skip


def tuning_event(status: str = "Completed", modified: int = 1795961400000, **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event("sagemaker_tuning_completed.json"))
    event["detail"].update({"HyperParameterTuningJobStatus": status, "LastModifiedTime": modified, **detail})
    return event


def trial_event(name: str, accuracy: float, lr: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("sagemaker_training_completed.json"))
    detail = event["detail"]
    detail.update({"TrainingJobName": name, "TuningJobArn": TUNING_ARN, "HyperParameters": {"epochs": "10", "lr": lr},
                   "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
                   "FinalMetricDataList": [{"MetricName": "validation:accuracy", "Value": accuracy,
                                            "Timestamp": 1795959900000}]})  # fmt: skip
    return event


def test_a_tuning_job_is_submitted_through_the_queue_and_followed_to_its_best_trial(
    api: Any, handlers: Any
) -> None:
    status, created = api("POST", "/tuning-jobs", TUNING)
    assert status == 202 and created["status"] == "Pending" and created["max_jobs"] == 6
    assert api("POST", "/tuning-jobs", TUNING)[0] == 200  # the same request again: the same tuning job
    result = invoke(handlers("submissions"), sqs_batch(requested(created["id"])))
    assert result == {"batchItemFailures": []}
    described = boto3.client("sagemaker", region_name="us-east-1").describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="churn-tune-1"
    )
    assert described["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    assert described["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] == "10"
    status, sent = api("GET", f"/tuning-jobs/{created['id']}")
    assert sent["status"] == "InProgress" and sent["sagemaker_arn"].endswith("/churn-tune-1")

    state = handlers("training_state")
    for name, accuracy, lr in (("churn-tune-1-001-aaaa0001", 0.81, "0.3"),
                               ("churn-tune-1-004-2f1c9a7e", 0.9312, "0.0712"),
                               ("churn-tune-1-002-aaaa0002", 0.88, "0.01")):  # fmt: skip
        assert invoke(state, sqs_batch(trial_event(name, accuracy, lr))) == {"batchItemFailures": []}
    # the end first, then an older progress report and a duplicate: neither moves it back
    invoke(state, sqs_batch(tuning_event()))
    invoke(state, sqs_batch(tuning_event("InProgress", 1795960000000), tuning_event()))
    status, done = api("GET", f"/tuning-jobs/{created['id']}")
    assert done["status"] == "Completed" and done["training_counts"]["Completed"] == 6
    assert (done["best_training_job"], done["best_objective_value"]) == ("churn-tune-1-004-2f1c9a7e", 0.9312)
    assert [t["objective_value"] for t in done["trials"]] == [0.9312, 0.88, 0.81]
    assert done["trials"][0]["hyperparameters"] == {"epochs": "10", "lr": "0.0712"}
    status, page = api("GET", "/jobs")
    assert {j["job_name"] for j in page["jobs"]} == {t["job_name"] for t in done["trials"]}
    assert [t["tuning_job_name"] for t in api("GET", "/tuning-jobs")[1]["tuning_jobs"]] == ["churn-tune-1"]


def test_trials_reported_before_their_tuning_job_is_recorded_are_linked_once_it_is(
    api: Any, handlers: Any
) -> None:
    state = handlers("training_state")
    invoke(state, sqs_batch(trial_event("churn-tune-1-001-bbbb0001", 0.7, "0.2")))
    status, created = api("POST", "/tuning-jobs", TUNING)
    assert status == 202
    shown = api("GET", f"/tuning-jobs/{created['id']}")[1]
    assert [t["job_name"] for t in shown["trials"]] == ["churn-tune-1-001-bbbb0001"]
    # SageMaker has not named a best yet: the best trial seen stands in
    assert shown["best_training_job"] == "churn-tune-1-001-bbbb0001"


def test_a_tuning_job_and_its_trials_belong_to_the_submitters_team(api: Any, handlers: Any) -> None:
    member = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
    other = "arn:aws:sts::123456789012:assumed-role/forecast-engineers/bob"
    for team, role in (("vision", "vision-engineers"), ("forecast", "forecast-engineers")):
        assert api("PUT", f"/teams/{team}", {"members": [f"arn:aws:iam::123456789012:role/{role}"]})[0] == 201
    body = {**TUNING, "dataset_uri": "s3://trainforge-datasets/datasets/vision/churn/"}
    status, created = api("POST", "/tuning-jobs", body, principal=member)
    assert status == 202 and created["team"] == "vision"
    invoke(handlers("training_state"), sqs_batch(trial_event("churn-tune-1-003-cccc0003", 0.9, "0.1")))
    assert api("GET", f"/tuning-jobs/{created['id']}", principal=other)[0] == 404
    assert api("GET", "/tuning-jobs", principal=other)[1]["tuning_jobs"] == []
    assert api("POST", f"/tuning-jobs/{created['id']}/cancel", principal=other)[0] == 404
    trial_id = api("GET", f"/tuning-jobs/{created['id']}", principal=member)[1]["trials"][0]["id"]
    assert api("GET", f"/jobs/{trial_id}", principal=other)[0] == 404
    assert api("GET", f"/jobs/{trial_id}", principal=member)[1]["team"] == "vision"
    status, cancelled = api("POST", f"/tuning-jobs/{created['id']}/cancel", principal=member)
    assert status == 200 and cancelled["cancelled"] is True and cancelled["tuning_job"]["status"] == "Stopped"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"objective_metric": "loss"}, "objective_metric"),
        ({"strategy": "Grid"}, "strategy"),
        ({"training": {"instance_type": "ml.m5.gigantic"}}, "training.instance_type"),
        ({"max_jobs": None}, "max_jobs"),
    ],
)
def test_an_invalid_tuning_request_is_a_422_naming_the_field(
    api: Any, changes: dict[str, Any], field: str
) -> None:
    status, answer = api("POST", "/tuning-jobs", {**TUNING, **changes})
    assert status == 422, answer
    assert field in [p["field"] for p in answer["error"]["problems"]]


def test_a_tuning_event_for_a_tuning_job_trainforge_did_not_start_is_ignored(handlers: Any) -> None:
    assert invoke(handlers("training_state"), sqs_batch(tuning_event())) == {"batchItemFailures": []}


def test_a_tuning_event_without_a_name_is_dead_lettered_with_its_reason(
    dead_letter_reasons: Any, handlers: Any
) -> None:
    event = tuning_event()
    del event["detail"]["HyperParameterTuningJobName"]
    assert invoke(handlers("training_state"), sqs_batch(event)) == {"batchItemFailures": []}
    (reason,) = dead_letter_reasons()
    assert "names no tuning job" in reason


@pytest.mark.calendar
def test_a_teams_tuning_job_holds_all_its_trials_against_the_budget_and_books_what_they_cost(
    api: Any, handlers: Any
) -> None:
    member = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
    team = {"members": ["arn:aws:iam::123456789012:role/vision-engineers"], "monthly_budget_usd": 1}
    assert api("PUT", "/teams/vision", team)[0] == 201
    body = {**TUNING, "dataset_uri": "s3://trainforge-datasets/datasets/vision/churn/", "max_jobs": 10}
    status, refused = api("POST", "/tuning-jobs", body, principal=member)  # 10 trials × $0.115 > $1
    assert status == 422 and refused["error"]["code"] == "budget_exceeded"
    assert "this job's projected ceiling is $1.15" in refused["error"]["message"]
    assert api("GET", "/tuning-jobs", principal=member)[1]["tuning_jobs"] == []  # nothing recorded
    status, _created = api("POST", "/tuning-jobs", {**body, "max_jobs": 6}, principal=member)
    assert status == 202
    month = api("GET", "/teams/vision", principal=member)[1]["this_month"]
    assert month["committed_usd"] == pytest.approx(0.69)
    state = handlers("training_state")
    for name in ("churn-tune-1-001-dddd0001", "churn-tune-1-002-dddd0002", "churn-tune-1-001-dddd0001"):
        invoke(state, sqs_batch(trial_event(name, 0.8, "0.1")))  # the first one twice: booked once
    # Each finished trial's cost moves from the tuning job's commitment to the month's spend.
    month = api("GET", "/teams/vision", principal=member)[1]["this_month"]
    two_trials = month["spent_usd"]
    assert two_trials > 0 and month["committed_usd"] == pytest.approx(0.69 - two_trials)
    invoke(state, sqs_batch(tuning_event(), tuning_event()))  # its end, twice: released once
    month = api("GET", "/teams/vision", principal=member)[1]["this_month"]
    assert (month["committed_usd"], month["spent_usd"]) == (0, pytest.approx(two_trials))
    # A trial reported after its tuning job's end (events come in any order) is booked all the same, once.
    for _ in range(2):
        invoke(state, sqs_batch(trial_event("churn-tune-1-003-dddd0003", 0.7, "0.3")))
    month = api("GET", "/teams/vision", principal=member)[1]["this_month"]
    usage = api("GET", "/teams/vision/usage", principal=member)[1]
    trials_cost = sum(row["usd"] for row in usage["by_instance_type"])
    assert month["committed_usd"] == 0 and month["spent_usd"] == pytest.approx(trials_cost)
    assert month["spent_usd"] == pytest.approx(two_trials * 3 / 2)  # the three trials cost the same
    assert (
        sum(row["jobs"] for row in usage["by_instance_type"]) == 3
    )  # the trials, counted in the team's month


@pytest.mark.calendar
def test_a_trial_that_ended_before_its_tuning_job_was_recorded_is_booked_once_it_is(
    api: Any, handlers: Any
) -> None:
    member = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
    team = {"members": ["arn:aws:iam::123456789012:role/vision-engineers"], "monthly_budget_usd": 5}
    assert api("PUT", "/teams/vision", team)[0] == 201
    state = handlers("training_state")
    invoke(state, sqs_batch(trial_event("churn-tune-1-001-eeee0001", 0.8, "0.1")))
    body = {**TUNING, "dataset_uri": "s3://trainforge-datasets/datasets/vision/churn/"}
    assert api("POST", "/tuning-jobs", body, principal=member)[0] == 202
    assert api("GET", "/teams/vision", principal=member)[1]["this_month"]["spent_usd"] == 0
    for _ in range(2):  # its next report links the trial to the team, which books it (once)
        invoke(state, sqs_batch(tuning_event("InProgress", 1795960000000)))
    month = api("GET", "/teams/vision", principal=member)[1]["this_month"]
    assert month["spent_usd"] > 0 and month["committed_usd"] == pytest.approx(0.69 - month["spent_usd"])


def test_a_stored_tuning_job_that_would_not_validate_today_is_still_listed(api: Any, db: Session) -> None:
    status, created = api("POST", "/tuning-jobs", TUNING)
    assert status == 202
    # As if an older release had accepted what this one refuses: the record stands and is shown as stored.
    db.execute(text("UPDATE tuning_jobs SET config = jsonb_set(config, '{training,instance_type}', "
                    "'\"ml.m5.gigantic\"') WHERE id = :id"), {"id": created["id"]})  # fmt: skip
    db.commit()
    status, page = api("GET", "/tuning-jobs")
    assert status == 200 and page["tuning_jobs"][0]["max_jobs"] == 6
    assert api("GET", f"/tuning-jobs/{created['id']}")[0] == 200
