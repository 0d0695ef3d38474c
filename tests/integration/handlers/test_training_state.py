from __future__ import annotations

import contextlib
import copy
import itertools
import json
import random
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.clock import moved_millis
from tests.conftest import load_event
from tests.lambda_support import invoke, sqs_batch
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.delivery import PoisonEventError
from trainforge.models.database import JobStatusHistory, TrainingJob, TrainingReport

STATUS_EVENTS = {
    "InProgress": "sagemaker_training_in_progress.json",
    "Completed": "sagemaker_training_completed.json",
    "Failed": "sagemaker_training_failed.json",
}


def state_event(status: str, secondary: str, modified: int, **detail: Any) -> dict[str, Any]:
    source = STATUS_EVENTS.get(status, "sagemaker_training_in_progress.json")
    event = copy.deepcopy(load_event(source))
    event["detail"].update(
        {"TrainingJobStatus": status, "SecondaryStatus": secondary, "LastModifiedTime": modified, **detail}
    )
    return event


@pytest.mark.calendar
def test_a_batch_of_state_changes_is_applied(handlers: Any, db: Session) -> None:
    module = handlers("training_state")
    result = invoke(
        module,
        sqs_batch(
            state_event("InProgress", "Starting", 1795867000000),
            state_event("InProgress", "Training", 1795867200000),
        ),
    )
    assert result == {"batchItemFailures": []}
    job = db.scalars(select(TrainingJob)).one()
    assert (job.status, job.secondary_status) == ("InProgress", "Training")
    assert job.origin == "trainforge"  # its events carry Trainforge's tag: its own record is yet to commit


def test_a_bare_eventbridge_event_works_too(handlers: Any, db: Session) -> None:
    invoke(handlers("training_state"), load_event("sagemaker_training_completed.json"))
    assert db.scalars(select(TrainingReport)).one().billable_seconds == 400


@pytest.mark.parametrize(
    ("status", "secondary"),
    [
        ("InProgress", "Starting"),
        ("InProgress", "Downloading"),
        ("InProgress", "Training"),
        ("InProgress", "Uploading"),
        ("Stopping", "Stopping"),
        ("Completed", "Completed"),
        ("Failed", "Failed"),
        ("Stopped", "Stopped"),
        ("Stopped", "MaxRuntimeExceeded"),
    ],
)
def test_every_status_is_recorded(handlers: Any, db: Session, status: str, secondary: str) -> None:
    invoke(handlers("training_state"), sqs_batch(state_event(status, secondary, 1795867500000)))
    job = db.scalars(select(TrainingJob)).one()
    assert (job.status, job.secondary_status) == (status, secondary)
    has_report = db.scalar(select(func.count()).select_from(TrainingReport)) == 1
    assert has_report == (status in ("Completed", "Failed", "Stopped"))


@pytest.mark.calendar
def test_times_as_strings_and_nulls_are_accepted(handlers: Any, db: Session) -> None:
    event = state_event("InProgress", "Training", 1795867200000)
    event["detail"]["LastModifiedTime"] = "1795867200000"
    event["detail"]["TrainingStartTime"] = None
    assert invoke(handlers("training_state"), sqs_batch(event)) == {"batchItemFailures": []}
    assert db.scalars(select(TrainingJob)).one().started_at is None


def lifecycle_events() -> list[dict[str, Any]]:
    return [
        state_event("InProgress", "Starting", 1795867000000),
        state_event("InProgress", "Downloading", 1795867100000),
        state_event("InProgress", "Training", 1795867200000),
        state_event("InProgress", "Uploading", 1795867600000),
        load_event("sagemaker_training_completed.json"),
    ]


def final_state(db: Session) -> tuple[Any, ...]:
    job = db.scalars(select(TrainingJob)).one()
    report = db.scalars(select(TrainingReport)).one()
    history = tuple(
        (h.status, h.secondary_status)
        for h in db.scalars(select(JobStatusHistory).order_by(JobStatusHistory.at))
    )
    return job.status, job.secondary_status, report.final_metrics, report.billable_seconds, history


def test_every_permutation_ends_in_the_true_final_state_with_its_report(handlers: Any, engine: Any) -> None:
    from tests.conftest import truncate_all

    module = handlers("training_state")
    events = lifecycle_events()
    expected = None
    for order in itertools.permutations(events):
        result = invoke(module, sqs_batch(*order))
        assert result == {"batchItemFailures": []}
        with Session(engine) as db:
            state = final_state(db)
        truncate_all(engine)
        expected = expected or state
        assert state == expected
    assert expected is not None and expected[0] == "Completed"
    assert [h[1] for h in expected[4]] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]


def test_duplicates_change_nothing(handlers: Any, db: Session) -> None:
    module = handlers("training_state")
    events = lifecycle_events() * 3
    random.Random(7).shuffle(events)
    invoke(module, sqs_batch(*events))
    assert db.scalar(select(func.count()).select_from(JobStatusHistory)) == 5
    assert db.scalar(select(func.count()).select_from(TrainingReport)) == 1


def test_a_poison_record_fails_alone_and_is_dead_lettered_with_its_reason(
    handlers: Any, handler_env: dict[str, str], db: Session
) -> None:
    sqs = boto3.client("sqs", region_name=handler_env["AWS_REGION"])
    dlq = sqs.create_queue(QueueName="training-state-dlq")["QueueUrl"]
    handler_env["TRAINFORGE_DEAD_LETTER_QUEUE_URL"] = dlq
    import os

    os.environ["TRAINFORGE_DEAD_LETTER_QUEUE_URL"] = dlq
    try:
        module = handlers("training_state")
        broken = state_event("InProgress", "Training", 1795867200000)
        broken["detail"]["TrainingJobName"] = "../../etc/passwd"
        batch = sqs_batch(load_event("sagemaker_training_completed.json"), broken, raw_bodies=("{not json",))
        result = invoke(module, batch)
    finally:
        os.environ.pop("TRAINFORGE_DEAD_LETTER_QUEUE_URL")
    assert result == {"batchItemFailures": []}
    assert db.scalars(select(TrainingJob)).one().status == "Completed"
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in messages)
    assert len(reasons) == 2
    assert "TrainingJobName" in reasons[1] and "not JSON" in reasons[0]
    bodies = {m["Body"] for m in messages}
    assert "{not json" in bodies
    assert any(
        json.loads(b)["detail"]["TrainingJobName"] == "../../etc/passwd" for b in bodies if b != "{not json"
    )


def test_without_a_dead_letter_queue_a_poison_record_is_left_for_sqs_redrive(
    handlers: Any, db: Session
) -> None:
    batch = sqs_batch(load_event("sagemaker_training_completed.json"), raw_bodies=("[]",))
    result = invoke(handlers("training_state"), batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}


def test_a_bare_poison_event_raises_for_lambdas_own_retry_and_destination(handlers: Any) -> None:
    with pytest.raises(PoisonEventError):
        invoke(handlers("training_state"), {"detail-type": "Something Else", "detail": {}})


def test_when_the_database_is_down_records_fail_for_retry(handlers: Any, db: Session) -> None:
    module = handlers("training_state")
    module.RUNTIME.__dict__["database"] = NativeDatabase(
        lambda: ConnectionParameters.from_url("postgresql+pg8000://postgres@127.0.0.1:1/none", timeout=1)
    )
    batch = sqs_batch(load_event("sagemaker_training_completed.json"))
    result = invoke(module, batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}


def test_unknown_jobs_are_not_recorded_when_the_ledger_is_off(handlers: Any, db: Session) -> None:
    import os

    started_elsewhere = load_event("sagemaker_training_in_progress.json")
    started_elsewhere["detail"]["Tags"] = {"team": "research"}  # not Trainforge's tag: not Trainforge's job
    os.environ["TRAINFORGE_RECORD_EXTERNAL_JOBS"] = "false"
    try:
        invoke(handlers("training_state"), started_elsewhere)
    finally:
        os.environ.pop("TRAINFORGE_RECORD_EXTERNAL_JOBS")
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


@pytest.mark.calendar
def test_a_failed_job_keeps_the_last_lines_of_its_logs(handlers: Any, db: Session) -> None:
    from trainforge.tracking.logs import LOG_GROUP, TAIL_LINES

    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName=LOG_GROUP)
    traceback = ["Traceback (most recent call last):", '  File "train.py", line 9, in <module>',
                 "ValueError: could not convert string to float: 'n/a'"]  # fmt: skip
    algo_1 = [f"epoch {n}" for n in range(40)] + traceback  # written at +0 ... +42 ms
    for host, first, written in (
        ("algo-1", 0, algo_1),
        ("algo-2", 0, ["worker ready"]),
        ("algo-2", 35, ["worker done"]),
    ):
        stream = f"churn-model-1/{host}-{moved_millis(1_795_867_000_000) // 1000}"
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[
                {"timestamp": moved_millis(1_795_867_000_000) + first + n, "message": t}
                for n, t in enumerate(written)
            ],
        )
    module = handlers("training_state")
    assert invoke(module, sqs_batch(load_event("sagemaker_training_failed.json"))) == {
        "batchItemFailures": []
    }
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Failed" and job.log_tail is not None
    assert len(job.log_tail) == TAIL_LINES
    assert job.log_tail[-3:] == [f"algo-1: {line}" for line in traceback]
    assert "algo-2: worker done" in job.log_tail, "the last lines of every instance, in time order"
    assert "algo-2: worker ready" not in job.log_tail, "older than the last lines"
    api = handlers("api")
    from tests.lambda_support import api_request

    shown = json.loads(invoke(api, api_request("GET", f"/jobs/{job.id}"))["body"])
    assert shown["log_tail"][-1] == "algo-1: ValueError: could not convert string to float: 'n/a'"


def test_a_failed_job_without_logs_is_recorded_all_the_same(handlers: Any, db: Session) -> None:
    assert invoke(handlers("training_state"), sqs_batch(load_event("sagemaker_training_failed.json"))) == {
        "batchItemFailures": []
    }
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Failed" and job.log_tail is None


@pytest.mark.calendar
def test_a_jobs_end_admits_the_job_waiting_for_its_instances_once(handlers: Any, db: Session) -> None:
    from trainforge import repository
    from trainforge.db import SessionDatabase
    from trainforge.job_settings.training_config import TrainingConfig
    from trainforge.services.sagemaker_training_service import SageMakerTrainingService

    database = SessionDatabase(db)
    repository.store_quotas(
        database, [{"pool": "ml.m5.xlarge", "instance_type": "ml.m5.xlarge", "spot": False, "quota": 2}]
    )
    db.commit()
    service = SageMakerTrainingService(sleep=lambda _s: None)
    settings = service.settings
    ids = [
        service.submit_training_job(
            TrainingConfig(job_name=name, instance_type="ml.m5.xlarge", instance_count=2),
            "s3://trainforge-datasets/datasets/churn/",
            "s3://trainforge-artifacts/output/",
            settings.execution_role_arn,
            settings.default_image_uri,
            db,
        )
        for name in ("churn-model-1", "churn-waits")
    ]
    assert [j.status for j in db.scalars(select(TrainingJob).order_by(TrainingJob.id))] == [
        "InProgress",
        "WaitingForCapacity",
    ]
    module = handlers("training_state")
    completed = load_event("sagemaker_training_completed.json")  # churn-model-1, 2 x ml.m5.xlarge
    for _delivery in range(2):  # at least once: the second delivery finds nothing more to release
        assert invoke(module, sqs_batch(completed)) == {"batchItemFailures": []}
        db.expire_all()
        waiting = db.get(TrainingJob, ids[1])
        assert waiting is not None and (waiting.status, waiting.capacity_held) == ("Pending", 2)
        assert repository.instances_in_use(database, "ml.m5.xlarge") == 2
    history = db.scalars(
        select(JobStatusHistory).where(JobStatusHistory.job_id == ids[1]).order_by(JobStatusHistory.at)
    ).all()
    assert [(h.status, h.secondary_status) for h in history][-1] == ("Pending", "Admitted")


def retried_job_events() -> list[dict[str, Any]]:
    """A job SageMaker retries once (RetryStrategy): each report carries the transitions so far, the retry
    starting again at Starting, as SageMaker describes it."""
    steps = [("Starting", 1795867000000, "Preparing the instances for training"),
             ("Downloading", 1795867100000, "Downloading input data"),
             ("Training", 1795867200000, "Training image download completed. Training in progress."),
             ("Starting", 1795867300000, "Retrying the training job after an internal error"),
             ("Downloading", 1795867400000, "Downloading input data"),
             ("Training", 1795867500000, "Training image download completed. Training in progress."),
             ("Completed", 1795867600000, "Training job completed")]  # fmt: skip
    events = []
    for index, (secondary, at, _message) in enumerate(steps):
        transitions = [{"Status": s, "StartTime": t, "StatusMessage": m} for s, t, m in steps[: index + 1]]
        status = "Completed" if secondary == "Completed" else "InProgress"
        events.append(state_event(status, secondary, at, SecondaryStatusTransitions=transitions,
                                  RetryStrategy={"MaximumRetryAttempts": 2}))  # fmt: skip
    return events


def test_a_retried_jobs_attempts_each_keep_their_steps_in_any_order(handlers: Any, db: Session) -> None:
    events = retried_job_events() * 2
    random.Random(3).shuffle(events)
    assert invoke(handlers("training_state"), sqs_batch(*events)) == {"batchItemFailures": []}
    rows = db.scalars(select(JobStatusHistory).order_by(JobStatusHistory.at)).all()
    assert [(h.secondary_status, h.attempt) for h in rows] == [
        ("Starting", 1), ("Downloading", 1), ("Training", 1),
        ("Starting", 2), ("Downloading", 2), ("Training", 2), ("Completed", 2),
    ]  # fmt: skip
    assert db.scalars(select(TrainingJob)).one().status == "Completed"


def test_the_api_shows_each_step_with_its_attempt(handlers: Any, db: Session) -> None:
    from tests.lambda_support import api_request

    invoke(handlers("training_state"), sqs_batch(*retried_job_events()))
    job_id = db.scalars(select(TrainingJob)).one().id
    response = invoke(handlers("api"), api_request("GET", f"/jobs/{job_id}"))
    history = json.loads(response["body"])["history"]
    assert [h["attempt"] for h in history] == [1, 1, 1, 2, 2, 2, 2]


def test_a_team_jobs_end_publishes_its_cost_on_the_teams_spend_metric_once(
    handlers: Any, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    module = handlers("training_state")
    invoke(module, sqs_batch(state_event("InProgress", "Training", 1795867000000)))
    job = db.scalars(select(TrainingJob)).one()
    job.team = "vision"
    db.commit()
    capsys.readouterr()

    def spend_lines() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        return [line for line in lines if "SpendUsd" in line]

    completed = state_event("Completed", "Completed", 1795867400000)
    invoke(module, sqs_batch(completed))
    (published,) = spend_lines()
    report = db.scalars(select(TrainingReport)).one()
    assert published["team"] == "vision" and published["service"] == "training_state"
    assert (
        published["SpendUsd"] == [pytest.approx(float(report.estimated_cost_usd))]
        and report.estimated_cost_usd > 0
    )
    assert published["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "team"]]
    invoke(module, sqs_batch(completed))  # EventBridge delivers it again: the team is not charged twice
    assert spend_lines() == []
