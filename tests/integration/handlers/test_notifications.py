"""Notices where teams look (issue 26): Trainforge's events, as the relay put them on EventBridge (moto's, over
HTTP) and SQS handed them on, reach a team's webhook (a real HTTP server here) once each, signed, whatever the
duplicates and the order; a webhook that fails gets the event again on the next delivery, and only it."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.integration.test_state_changes import lifecycle
from tests.lambda_support import invoke, sqs_batch
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.models.team_definitions import parse_team
from trainforge.notifications.relay import publish_pending
from trainforge.repository.teams import upsert_team
from trainforge.routing import event_routes
from trainforge.tracking.state_changes import record_state_change, state_change_from_description

SECRET = "a-webhook-secret"


class Receiver:
    """A team's webhook endpoint: records each request; answers 500 to the first ``failures`` ones."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                failing = receiver.failures > 0
                receiver.failures -= failing
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/trainforge"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture
def delivered(handler_env: dict[str, str], database_url: str) -> Iterator[Any]:
    """The events the relay published, as the notifications queue hands them to the function (SQS records)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (pattern,) = next(
        r
        for r in event_routes(
            datasets_bucket="d", dataset_prefix="p/", jobs_prefix="j/", codebuild_project="c"
        )
        if r.handler == "notifications"
    ).patterns
    events.put_rule(Name="notifications", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="notifications", Targets=[{"Id": "q", "Arn": arn}])
    native = NativeDatabase(lambda: ConnectionParameters.from_url(database_url))

    def relay_and_read() -> list[dict[str, Any]]:
        publish_pending(native, events, "default")
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return found

    yield native, relay_and_read
    native.close()
    events.remove_targets(Rule="notifications", Ids=["q"])
    events.delete_rule(Name="notifications")


def define_team(native: NativeDatabase, webhook: str, **subscription: Any) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="trainforge/webhooks/vision", SecretString=SECRET
    )
    team = parse_team({
        "name": "vision", "members": ["arn:aws:iam::123456789012:role/vision"],
        "notifications": [
            {"kind": "webhook", "target": webhook, "secret_name": "trainforge/webhooks/vision", **subscription},
            {"kind": "email", "target": "vision-team@example.com", "statuses": ["Failed"]},
        ],
    })  # fmt: skip
    upsert_team(native, team.to_dict())


def fail_a_job(native: NativeDatabase, db: Session, name: str) -> None:
    """A vision job, recorded Pending for its team, then through its true life to Failed (SageMaker's events, as
    the handler applies them)."""
    db.execute(
        text("INSERT INTO training_jobs (job_name, origin, environment, status, status_rank, created_at, updated_at, "
             "team) VALUES (:n, 'trainforge', 'sagemaker', 'Pending', 0, now(), now(), 'vision')"),
        {"n": name},
    )  # fmt: skip
    db.commit()
    steps = [*lifecycle()[:-1], json.loads(json.dumps(lifecycle()[-1]))]
    steps[-1].update(
        TrainingJobStatus="Failed", SecondaryStatus="Failed", FailureReason="AlgorithmError: boom"
    )
    for step in steps:
        description = {**step, "TrainingJobName": name,
                       "TrainingJobArn": step["TrainingJobArn"].rsplit("/", 1)[0] + "/" + name}  # fmt: skip
        record_state_change(native, state_change_from_description(description), record_external=True)


def verify(request: dict[str, Any]) -> bool:
    """What a receiver does: recompute the signature over the timestamp and the body."""
    fields = dict(part.split("=", 1) for part in request["headers"]["Trainforge-Signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), f"{fields['t']}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_a_failed_job_reaches_the_webhook_once_signed_whatever_the_duplicates_and_order(
    handlers: Any, delivered: Any, receiver: Receiver, db: Session
) -> None:
    native, relay_and_read = delivered
    define_team(native, receiver.url, events=["Trainforge Job State Change"], statuses=["Failed"])
    fail_a_job(native, db, "vision-fails")
    events = relay_and_read()
    assert any(e["detail"].get("new_status") == "Failed" for e in events)
    module = handlers("notifications")
    records = events + events[::2] + events[-1:]  # at least once: some twice, the last three times
    random.Random(5).shuffle(records)
    for start in range(0, len(records), 4):
        assert invoke(module, sqs_batch(*records[start : start + 4])) == {"batchItemFailures": []}
    got = receiver.events()
    assert [e["detail"]["new_status"] for e in got] == ["Failed"]  # the one it asked for, once
    assert (
        got[0]["detail-type"] == "Trainforge Job State Change"
        and got[0]["detail"]["job_name"] == "vision-fails"
    )
    assert got[0]["detail"]["reason"] == "AlgorithmError: boom" and got[0]["detail"]["team"] == "vision"
    assert verify(receiver.requests[0])
    assert receiver.requests[0]["headers"]["Trainforge-Event-Id"] == got[0]["detail"]["event_id"]
    rows = db.execute(
        text("SELECT subscription, status, attempts FROM notification_deliveries ORDER BY id")
    ).all()
    assert sorted((s.split(":", 1)[0], st, a) for s, st, a in rows) == [
        ("email", "logged", 1),
        ("webhook", "delivered", 1),
    ]


def test_a_webhook_that_fails_gets_the_event_again_and_only_it(
    handlers: Any, delivered: Any, receiver: Receiver, db: Session
) -> None:
    native, relay_and_read = delivered
    define_team(native, receiver.url, statuses=["Failed"])
    fail_a_job(native, db, "vision-retried")
    failed = [e for e in relay_and_read() if e["detail"].get("new_status") == "Failed"]
    assert len(failed) == 1
    module = handlers("notifications")
    receiver.failures = 1
    batch = sqs_batch(failed[0])
    first = invoke(module, batch)
    assert first == {
        "batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]
    }  # SQS retries it
    assert invoke(module, sqs_batch(failed[0])) == {"batchItemFailures": []}
    assert invoke(module, sqs_batch(failed[0])) == {"batchItemFailures": []}  # a late duplicate: nothing sent
    assert len(receiver.requests) == 2 and all(verify(r) for r in receiver.requests)
    rows = dict(db.execute(text("SELECT subscription, attempts FROM notification_deliveries")).all())
    assert (
        rows[f"webhook:{receiver.url}"] == 2 and rows["email:vision-team@example.com"] == 1
    )  # email sent once


def test_a_poison_event_is_dead_lettered_with_its_reason_not_retried(
    dead_letter_reasons: Any, handlers: Any
) -> None:
    bad = {"version": "0", "source": "trainforge", "detail-type": "Trainforge Job State Change", "detail": {}}
    assert invoke(handlers("notifications"), sqs_batch(bad)) == {"batchItemFailures": []}
    (reason,) = dead_letter_reasons()
    assert "without detail.event_id" in reason


@pytest.mark.parametrize(
    ("subscription", "field"),
    [
        (
            {"kind": "webhook", "target": "http://example.com/x", "secret_name": "trainforge/webhooks/a"},
            "target",
        ),
        ({"kind": "webhook", "target": "https://example.com/x"}, "secret_name"),
        ({"kind": "webhook", "target": "https://example.com/x", "secret_name": "elsewhere/a"}, "secret_name"),
        ({"kind": "email", "target": "not-an-address"}, "target"),
        ({"kind": "chatbot", "target": "arn:aws:sns:us-east-1:123456789012:other-topic"}, "target"),
        ({"kind": "email", "target": "a@example.com", "events": ["Job Finished"]}, "events.0"),
        ({"kind": "pager", "target": "x"}, "kind"),
    ],
)
def test_a_subscription_that_cannot_be_kept_is_refused_naming_its_field(
    handlers: Any, subscription: dict[str, Any], field: str
) -> None:
    from tests.lambda_support import api_request

    body = {"members": [], "notifications": [subscription]}
    response = invoke(handlers("api"), api_request("PUT", "/teams/vision", body))
    assert response["statusCode"] == 422, response
    problems = json.loads(response["body"])["error"]["problems"]
    assert any(p["field"].endswith(field) for p in problems), problems


def test_a_test_notice_goes_the_way_of_every_event_and_its_deliveries_are_listed(
    handlers: Any, delivered: Any, receiver: Receiver
) -> None:
    from tests.lambda_support import api_request

    native, relay_and_read = delivered
    define_team(native, receiver.url)  # the webhook takes every event; the email only Failed ones
    api = handlers("api")
    response = invoke(api, api_request("POST", "/teams/vision/notifications/test"))
    assert response["statusCode"] == 202, response
    sent = json.loads(response["body"])
    assert sent["subscriptions"] == 2
    events = relay_and_read()  # the API's own relay published it with its answer: nothing was left to publish
    assert [e["detail-type"] for e in events] == ["Trainforge Notification Test"]
    assert invoke(handlers("notifications"), sqs_batch(*events)) == {"batchItemFailures": []}
    (got,) = receiver.events()
    assert got["detail"]["event_id"] == sent["event_id"] and verify(receiver.requests[0])
    assert "nothing happened to any job" in got["detail"]["message"]
    listed = json.loads(invoke(api, api_request("GET", "/teams/vision/notifications"))["body"])
    # a test has no status: it passes every statuses filter, and reaches every subscription (email: logged locally)
    assert sorted((d["event_id"], d["subscription"], d["status"]) for d in listed["deliveries"]) == [
        (sent["event_id"], "email:vision-team@example.com", "logged"),
        (sent["event_id"], f"webhook:{receiver.url}", "delivered"),
    ]


def test_a_webhook_that_is_down_is_tried_again_later_each_time(
    handlers: Any, delivered: Any, receiver: Receiver, db: Session
) -> None:
    """Through a real queue whose own visibility timeout is 0: without the function's backoff, the failed event
    would be back at once; with it, it stays away after each failure (30 s, then 60 s: backoff_seconds)."""
    native, relay_and_read = delivered
    define_team(native, receiver.url, statuses=["Failed"])
    fail_a_job(native, db, "vision-backoff")
    (failed,) = [e for e in relay_and_read() if e["detail"].get("new_status") == "Failed"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="notifications-backoff", Attributes={"VisibilityTimeout": "0"})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(failed))
    module = handlers("notifications")
    receiver.failures = 2
    for receives in (1, 2):
        (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(receives)
        batch = {"Records": [{
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message["Attributes"], "messageAttributes": {}, "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
        }]}  # fmt: skip
        assert invoke(module, batch)["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
        assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []  # away, not back at once
        sqs.change_message_visibility(
            QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    assert len(receiver.requests) == 2
