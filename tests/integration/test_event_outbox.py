"""Trainforge's own events (issue 26): a change of status and its event are written by one statement (the outbox's
triggers), duplicated and shuffled SageMaker events give one event per real transition, and the relay puts them
on EventBridge (moto's, over HTTP) with ids a consumer de-duplicates on, losing nothing when it dies mid-way."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import load_event
from tests.integration.test_state_changes import lifecycle
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models.events import BUDGET_THRESHOLD_REACHED, JOB_STATE_CHANGE
from trainforge.notifications.relay import publish_pending
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings
from trainforge.tracking.state_changes import record_state_change, state_change_from_description

pytestmark = pytest.mark.calendar  # the fixtures' times are moved next to the clock


@pytest.fixture
def native(database_url: str) -> Iterator[NativeDatabase]:
    connection = NativeDatabase(lambda: ConnectionParameters.from_url(database_url))
    yield connection
    connection.close()


@pytest.fixture
def bus(aws_resources: Settings) -> Iterator[Any]:
    """A rule on the default bus sending Trainforge's own events to a queue: what a consumer reads."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="trainforge-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["trainforge"], "detail-type": [{"prefix": "Trainforge "}]}
    events.put_rule(Name="trainforge-events", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="trainforge-events", Targets=[{"Id": "q", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(m["Body"]) for m in batch]
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        return found

    yield events, received
    events.remove_targets(Rule="trainforge-events", Ids=["q"])
    events.delete_rule(Name="trainforge-events")


def outbox(db: Session) -> list[dict[str, Any]]:
    rows = db.execute(text("SELECT * FROM event_outbox ORDER BY id")).mappings().all()
    return [dict(r) for r in rows]


def record_job(settings: Settings, db: Session, name: str) -> int:
    job_id, _ = SageMakerTrainingService(settings).record_training_job(
        TrainingConfig(job_name=name), "s3://trainforge-datasets/datasets/x/", "s3://trainforge-artifacts/output/",
        settings.execution_role_arn, "img:1", db,
    )  # fmt: skip
    return job_id


def named(description: dict[str, Any], name: str) -> dict[str, Any]:
    found = copy.deepcopy(description)
    found["TrainingJobName"] = name
    found["TrainingJobArn"] = found["TrainingJobArn"].rsplit("/", 1)[0] + "/" + name
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicated_and_shuffled_state_changes_make_one_event_per_real_transition(
    aws_resources: Settings, db: Session, native: NativeDatabase, seed: int
) -> None:
    job_id = record_job(aws_resources, db, "outbox-job")
    deliveries = [named(d, "outbox-job") for d in lifecycle()]
    deliveries += copy.deepcopy(deliveries[1::2]) + copy.deepcopy(deliveries[-1:])  # redeliveries
    random.Random(seed).shuffle(deliveries)
    for description in deliveries:
        record_state_change(native, state_change_from_description(description), record_external=True)
    db.expire_all()
    events = [r for r in outbox(db) if r["detail_type"] == JOB_STATE_CHANGE]
    assert all(r["subject_id"] == job_id for r in events)
    statuses = [r["detail"]["new_status"] for r in events]
    assert statuses[0] == "Pending" and statuses[-1] == "Completed"
    assert len(statuses) == len(set(statuses))  # no transition twice, whatever the order
    # each event starts where the one before it ended: a chain with no gap and no step back
    assert [r["detail"]["old_status"] for r in events] == [None, *statuses[:-1]]


def job_through_its_life(settings: Settings, db: Session, native: NativeDatabase, name: str) -> int:
    """A job recorded, then SageMaker's events of its whole life applied in order; its id."""
    job_id = record_job(settings, db, name)
    for description in lifecycle():
        record_state_change(
            native, state_change_from_description(named(description, name)), record_external=True
        )
    return job_id


def test_the_relay_publishes_each_event_once_with_its_stable_id_and_the_cost_so_far(
    aws_resources: Settings, db: Session, native: NativeDatabase, bus: Any
) -> None:
    events_client, received = bus
    job_id = job_through_its_life(aws_resources, db, native, "outbox-relay")
    rows = outbox(db)
    assert publish_pending(native, events_client, "default", "https://api.example/prod") == len(rows)
    assert publish_pending(native, events_client, "default") == 0  # nothing left
    got = received()
    assert sorted(e["detail"]["event_id"] for e in got) == sorted(f"trainforge-{r['id']}" for r in rows)
    last = max(got, key=lambda e: e["detail"]["event_id"].split("-")[1].zfill(12))
    assert last["source"] == "trainforge" and last["detail-type"] == JOB_STATE_CHANGE
    assert last["detail"]["new_status"] == "Completed" and last["detail"]["job_id"] == job_id
    assert last["detail"]["url"] == f"https://api.example/prod/jobs/{job_id}"
    assert last["detail"]["cost_usd"] is not None and last["detail"]["version"] == "1"
    db.expire_all()
    assert all(r["published_at"] is not None for r in outbox(db))


def test_a_relay_that_cannot_reach_eventbridge_loses_nothing(
    aws_resources: Settings, db: Session, native: NativeDatabase, bus: Any
) -> None:
    events_client, received = bus
    record_job(aws_resources, db, "outbox-cut")
    unreachable = boto3.client(
        "events", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )  # fmt: skip
    with pytest.raises(Exception, match="Could not connect"):
        publish_pending(native, unreachable, "default")
    db.expire_all()
    assert [r["published_at"] for r in outbox(db)] == [None]  # the claim was rolled back with the failure
    assert publish_pending(native, events_client, "default") == 1
    assert [e["detail"]["job_name"] for e in received()] == ["outbox-cut"]


def test_a_relay_killed_after_eventbridge_took_its_events_republishes_them_under_the_same_ids(
    aws_resources: Settings, db: Session, native: NativeDatabase, database_url: str, bus: Any
) -> None:
    events_client, received = bus
    record_job(aws_resources, db, "outbox-killed-a")
    record_job(aws_resources, db, "outbox-killed-b")
    backend = native.rows("SELECT pg_backend_pid() AS pid")[0]["pid"]
    killer = NativeDatabase(lambda: ConnectionParameters.from_url(database_url))

    def kill_relay_connection(**_: Any) -> None:  # after PutEvents answered, before the mark commits
        killer.rows("SELECT pg_terminate_backend(:pid)", {"pid": backend})

    events_client.meta.events.register("after-call.events.PutEvents", kill_relay_connection)
    try:
        with pytest.raises(Exception):
            publish_pending(native, events_client, "default")
    finally:
        events_client.meta.events.unregister("after-call.events.PutEvents", kill_relay_connection)
        killer.close()
    first = received()
    assert len(first) == 2  # EventBridge took them
    db.expire_all()
    assert [r["published_at"] for r in outbox(db)] == [None, None]  # the mark died with the connection
    assert publish_pending(native, events_client, "default") == 2
    again = received()
    assert {e["detail"]["event_id"] for e in again} == {e["detail"]["event_id"] for e in first}
    assert {e["detail"]["job_name"] for e in again} == {"outbox-killed-a", "outbox-killed-b"}


def test_a_teams_month_crossing_50_80_and_100_percent_makes_one_event_per_threshold(db: Session) -> None:
    db.execute(text("INSERT INTO teams (name, monthly_budget_usd) VALUES ('vision', 10)"))
    spend = "INSERT INTO team_spend (team, month, spent_usd) VALUES ('vision', date_trunc('month', now()), :usd) " \
            "ON CONFLICT (team, month) DO UPDATE SET spent_usd = EXCLUDED.spent_usd"  # fmt: skip
    for usd in (1, 4.99, 5, 6, 9.5, 9.5, 10, 12, 30):
        db.execute(text(spend), {"usd": usd})
    db.commit()
    crossed = [r["detail"] for r in outbox(db) if r["detail_type"] == BUDGET_THRESHOLD_REACHED]
    assert [d["threshold_percent"] for d in crossed] == [50, 80, 100]
    assert [float(d["spent_usd"]) for d in crossed] == [5, 9.5, 10]
    assert crossed[0]["team"] == "vision" and float(crossed[0]["monthly_budget_usd"]) == 10


def test_a_build_and_a_tuning_job_say_their_changes_too(db: Session) -> None:
    detail = load_event("codebuild_build_succeeded.json")["detail"]
    db.execute(
        text("INSERT INTO container_builds (build_id, project_name, status, status_rank, team) "
             "VALUES (:id, 'p', 'QUEUED', 0, 'vision')"),
        {"id": detail["build-id"]},
    )  # fmt: skip
    db.execute(text("UPDATE container_builds SET status = 'SUCCEEDED', status_rank = 3"))
    db.execute(text("UPDATE container_builds SET status_rank = 3"))  # no change of status: no event
    db.commit()
    builds = [r["detail"] for r in outbox(db) if r["subject"] == "build"]
    assert [(d["old_status"], d["new_status"]) for d in builds] == [(None, "QUEUED"), ("QUEUED", "SUCCEEDED")]
    assert builds[0]["team"] == "vision"


def test_every_kind_of_event_the_relay_publishes_matches_its_documented_schema(
    aws_resources: Settings, db: Session, native: NativeDatabase, bus: Any
) -> None:
    from pathlib import Path

    from jsonschema import Draft4Validator

    from trainforge.repository.outbox import add_test_event

    events_client, received = bus
    job_id = job_through_its_life(aws_resources, db, native, "schema-job")
    waiting = record_job(aws_resources, db, "schema-waits")
    db.execute(text("INSERT INTO teams (name, monthly_budget_usd) VALUES ('vision', 1)"))
    db.execute(  # the queue's own statement is tested with the capacity suite: here, only its event's shape
        text("UPDATE training_jobs SET status = 'WaitingForCapacity', capacity_pool = 'ml.m5.large', team = 'vision' "
             "WHERE id = :id"),
        {"id": waiting},
    )  # fmt: skip
    db.execute(
        text(
            "INSERT INTO container_builds (build_id, project_name, status, status_rank) VALUES ('p:1', 'p', 'QUEUED', 0)"
        )
    )
    db.execute(
        text("INSERT INTO tuning_jobs (name, status, status_rank, config, objective_metric, objective_type) "
             "VALUES ('schema-tuning', 'Pending', 0, '{}', 'validation:accuracy', 'Maximize')")
    )  # fmt: skip
    db.execute(
        text(
            "INSERT INTO team_spend (team, month, spent_usd) VALUES ('vision', date_trunc('month', now()), 2)"
        )
    )
    db.commit()
    add_test_event(native, "vision", "arn:aws:iam::123456789012:user/ml-engineer")
    publish_pending(native, events_client, "default")
    got = received()
    folder = Path(__file__).resolve().parents[2] / "docs" / "events"
    kinds = set()
    for event in got:
        name = event["detail-type"].lower().replace(" ", "-") + ".v1.json"
        schema = json.loads((folder / name).read_text())
        errors = [e.message for e in Draft4Validator(schema).iter_errors(event)]
        assert errors == [], (event["detail-type"], errors)
        kinds.add(event["detail-type"])
    assert kinds == {
        "Trainforge Job State Change", "Trainforge Job Waiting For Capacity", "Trainforge Build State Change",
        "Trainforge Tuning Job State Change", "Trainforge Budget Threshold Reached", "Trainforge Notification Test",
    }  # fmt: skip
    assert job_id in {e["detail"].get("job_id") for e in got}
