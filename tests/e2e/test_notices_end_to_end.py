"""Notices end to end: local mode in its own process, a team whose webhook is a receiver in this test, and every
SageMaker event of the run delivered again, twice each and shuffled, as EventBridge may. Each of a failed job, a
completed tuning job, a job waiting for capacity and a budget threshold reaches the webhook exactly once."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local_mode.webhook_receiver import WebhookReceiver
from tests.e2e.local_mode_process import LocalModeProcess, clean_environment
from trainforge.local.postgres import scratch_database

SECRET_NAME = "trainforge/webhooks/alerts"
SECRET = "e2e-secret"
MEMBER = "arn:aws:sts::123456789012:assumed-role/alerts-engineers/carol"
# One image for every job: it fails, sleeps until stopped, or trains for a moment and reports its accuracy.
SCRIPT = """
import argparse, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="train")
parser.add_argument("--seconds", type=float, default=0.5)
parser.add_argument("--x", type=float, default=1.0)
args, _ = parser.parse_known_args()
if args.mode == "fail":
    print("no data to train on", file=sys.stderr)
    sys.exit(3)
time.sleep(args.seconds if args.mode == "train" else 3600)
print(f"accuracy={1 / (1 + abs(args.x - 2)):.4f}", flush=True)
"""
# ml.p5.48xlarge at $113.068 an hour: 2 s cost $0.0628, 89% of a $0.07 budget (its projected ceiling too, so
# the job is accepted); the job sleeps until its 2 s limit stops it.
BUDGET_USD = 0.07
COSTLY = "ml.p5.48xlarge"


@pytest.fixture(scope="module")
def local(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModeProcess]:
    with scratch_database(postgres_server_url, "trainforge_e2e_notices", drop_later=True) as database_url:
        env = clean_environment(
            DATABASE_URL=database_url,
            TRAINFORGE_LOCAL_INSTANCE_QUOTAS="ml.m5.xlarge=1",
            POWERTOOLS_LOG_LEVEL="INFO",
        )  # the handlers say what they did with each event
        mode = LocalModeProcess(tmp_path_factory.mktemp("notices"), env=env).start()
        try:
            yield mode
        finally:
            mode.stop()


def aws(mode: LocalModeProcess, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=f"http://127.0.0.1:{mode.aws_port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip


def job(name: str, image: str, **hyperparameters: str) -> dict[str, Any]:
    return {"job_name": name, "dataset_uri": "s3://trainforge-datasets/datasets/alerts/none/", "image_uri": image,
            "instance_type": "ml.m5.large", "max_runtime_seconds": 60, "hyperparameters": hyperparameters}  # fmt: skip


def post(mode: LocalModeProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = mode.call("POST", path, body, {"X-Trainforge-Principal": MEMBER})
    assert status == 202, answer
    return dict(answer)


def transition(event: dict[str, Any]) -> tuple[Any, ...]:
    """What one notice is about: a second notice with the same key is a duplicate, whatever its id."""
    d = event["detail"]
    return (event["detail-type"], d.get("job_id"), d.get("tuning_job_id"), d.get("build_id"),
            d.get("old_status"), d.get("new_status"), d.get("threshold_percent"), d.get("month"))  # fmt: skip


def test_each_notice_reaches_the_webhook_once_however_sagemakers_events_arrive(
    local: LocalModeProcess,
) -> None:
    events, sqs = aws(local, "events"), aws(local, "sqs")
    # A copy of every SageMaker event of the run, to deliver again afterwards.
    copies = sqs.create_queue(QueueName="sagemaker-event-copies")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=copies, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="copy-sagemaker-events", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="copy-sagemaker-events", Targets=[{"Id": "copies", "Arn": arn}])
    aws(local, "secretsmanager").create_secret(Name=SECRET_NAME, SecretString=SECRET)

    with WebhookReceiver(SECRET) as receiver:
        team = {"members": ["arn:aws:iam::123456789012:role/alerts-engineers"], "monthly_budget_usd": BUDGET_USD,
                "notifications": [{"kind": "webhook", "target": receiver.url, "secret_name": SECRET_NAME}]}  # fmt: skip
        status, answer = local.call("PUT", "/teams/alerts", team)
        assert status in (200, 201), answer
        status, build = local.call("POST", "/builds", {"base_image": "python:3.12-slim", "tag": "alerts",
                                                       "files": {"train.py": SCRIPT}})  # fmt: skip
        assert status == 202, build
        deadline = time.monotonic() + 30
        while build["status"] != "SUCCEEDED" and time.monotonic() < deadline:
            time.sleep(0.1)
            _, build = local.call("GET", f"/builds/{build['id']}")
        image = build["image_uri"]

        failed = post(local, "/jobs", job("alerts-fails", image, mode="fail"))
        local.wait_for_job(failed["id"], ("Failed",))
        tuning = post(local, "/tuning-jobs", {
            "tuning_job_name": "alerts-tune", "dataset_uri": "s3://trainforge-datasets/datasets/alerts/none/",
            "image_uri": image, "objective_metric": "accuracy", "strategy": "Grid", "max_parallel_jobs": 2,
            "parameter_ranges": [{"name": "x", "kind": "categorical", "values": ["1", "2"]}],
            "training": {"instance_type": "ml.m5.large", "max_runtime_seconds": 60, "hyperparameters": {"seconds": "0.2"},
                         "metric_definitions": [{"Name": "accuracy", "Regex": "accuracy=([0-9.]+)"}]},
        })  # fmt: skip
        first = post(
            local,
            "/jobs",
            {**job("alerts-pool-1", image, seconds="1.5"), "instance_type": "ml.m5.xlarge"},
        )
        second = post(
            local,
            "/jobs",
            {**job("alerts-pool-2", image, seconds="0.2"), "instance_type": "ml.m5.xlarge"},
        )
        local.wait_for_job(second["id"], ("WaitingForCapacity",))
        for each in (first, second):
            local.wait_for_job(each["id"], ("Completed",))
        deadline = time.monotonic() + 60
        while local.call("GET", f"/tuning-jobs/{tuning['id']}")[1]["status"] != "Completed":
            assert time.monotonic() < deadline, "the tuning job did not complete"
            time.sleep(0.3)
        costly = post(local, "/jobs", {**job("alerts-costly", image, mode="sleep"),
                                       "instance_type": COSTLY, "max_runtime_seconds": 2})  # fmt: skip
        local.wait_for_job(costly["id"], ("Stopped", "Failed", "Completed"))

        def settled() -> list[dict[str, Any]]:
            """The notices once none has arrived for 3 s (the last of them is published after its commit)."""
            count, quiet_since = -1, time.monotonic()
            deadline = time.monotonic() + 45
            while time.monotonic() - quiet_since < 3 and time.monotonic() < deadline:
                if len(receiver.received) != count:
                    count, quiet_since = len(receiver.received), time.monotonic()
                time.sleep(0.2)
            return list(receiver.received)

        before = settled()
        # Every SageMaker event again, twice, in another order: duplicates and late arrivals.
        captured: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=copies, MaxNumberOfMessages=10).get("Messages", []):
            captured += [json.loads(m["Body"]) for m in batch]
        assert {e["detail"].get("TrainingJobStatus") for e in captured} >= {"Failed", "Completed", "Stopped"}
        replay = [*captured, *captured]
        random.Random(26).shuffle(replay)
        for event in replay:
            answer = events.put_events(Entries=[{
                "Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"]),
                "Resources": event.get("resources", []),
            }])  # fmt: skip
            assert answer["FailedEntryCount"] == 0
        after = settled()
        assert receiver.refused == 0
    # The copies reached the state handler, which saw each as a change it already had.
    replayed = sum(e["detail-type"] == "SageMaker Training Job State Change" for e in replay)
    assert local.text().count("already applied or older than the job's state") >= replayed

    assert after == before, "the replayed events sent notices again"
    ids = Counter(e["detail"]["event_id"] for e in after)
    assert [i for i, n in ids.items() if n > 1] == []
    transitions = Counter(transition(e) for e in after)
    assert [t for t, n in transitions.items() if n > 1] == []

    def notices(detail_type: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in after if e["detail-type"] == detail_type
                and all(e["detail"].get(k) == v for k, v in fields.items())]  # fmt: skip

    assert len(notices("Trainforge Job State Change", job_id=failed["id"], new_status="Failed")) == 1
    assert (
        len(notices("Trainforge Tuning Job State Change", tuning_job_id=tuning["id"], new_status="Completed"))
        == 1
    )
    assert len(notices("Trainforge Job Waiting For Capacity", job_id=second["id"])) == 1
    budget = notices("Trainforge Budget Threshold Reached", team="alerts")
    assert len(budget) == 1 and budget[0]["detail"]["threshold_percent"] in (80, 100), budget
    assert all(
        e["detail"]["url"] == f"{local.url}{e['detail']['path']}" for e in after if e["detail"]["path"]
    )
