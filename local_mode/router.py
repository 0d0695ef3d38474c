"""The stacks' event routing, in the emulator: rule → queue (with a dead-letter queue) → handler, as Lambda's SQS
event source mapping invokes it (batches, per-record failures, redelivery after the visibility timeout)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from trainforge.aws import client
from trainforge.routing import Route, event_routes
from trainforge.settings import Settings

VISIBILITY_SECONDS = 5  # short locally: a failed record comes back quickly
MAX_RECEIVES = 5


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = ""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@dataclass
class RoutedQueue:
    route: Route
    handler: ModuleType
    queue_url: str
    queue_arn: str
    batch_size: int


class LocalRouter:
    def __init__(self, settings: Settings, handlers: dict[str, ModuleType]) -> None:
        self.settings = settings
        self.handlers = handlers
        self.sqs = client("sqs", settings.region)
        self.events = client("events", settings.region)
        self.queues: list[RoutedQueue] = []
        self.dead_letters: dict[str, str] = {}
        self.invocations = 0
        self.failures = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def provision(self) -> None:
        """Create the rules and queues of the routing table (idempotent)."""
        s3 = client("s3", self.settings.region)
        s3.put_bucket_notification_configuration(
            Bucket=self.settings.datasets_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        routes = event_routes(
            datasets_bucket=self.settings.datasets_bucket,
            dataset_prefix=self.settings.dataset_prefix,
            jobs_prefix=self.settings.jobs_prefix,
            codebuild_project=self.settings.codebuild_project,
        )
        for route in routes:
            dead_letter = self.sqs.create_queue(QueueName=f"trainforge-{route.handler}-dlq")["QueueUrl"]
            dead_letter_arn = self._arn(dead_letter)
            queue = self.sqs.create_queue(
                QueueName=f"trainforge-{route.handler}",
                Attributes={
                    "VisibilityTimeout": str(VISIBILITY_SECONDS),
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": MAX_RECEIVES}
                    ),
                },
            )["QueueUrl"]
            arn = self._arn(queue)
            for index, pattern in enumerate(route.patterns):
                name = f"trainforge-{route.handler}-{index}"
                self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
                self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
            batch = 1 if route.handler == "submissions" else 10  # one submission at a time, as deployed
            self.queues.append(RoutedQueue(route, self.handlers[route.handler], queue, arn, batch))
            self.dead_letters[route.handler] = dead_letter

    def _arn(self, queue_url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def start(self) -> None:
        for routed in self.queues:
            thread = threading.Thread(
                target=self._poll, args=(routed,), name=f"route-{routed.route.handler}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def schedule(self, every_seconds: float) -> None:
        """The stack's schedule rule: the reconcile function every ``every_seconds``, with EventBridge's
        "Scheduled Event" as its event."""

        def tick() -> None:
            first = True  # once at start, as a deployment's first run would have read quotas and prices
            while first or not self._stop.wait(every_seconds):
                first = False
                event = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": self.settings.account_id,
                    "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": self.settings.region,
                    "resources": [
                        f"arn:aws:events:{self.settings.region}:{self.settings.account_id}:rule/trainforge-reconcile"
                    ],
                    "detail": {},
                }
                try:
                    self.handlers["reconcile"].handler(
                        event, LambdaContext(function_name="trainforge-reconcile")
                    )
                except Exception:  # noqa: S112 - the next tick tries again, as a schedule would
                    continue

        thread = threading.Thread(target=tick, name="schedule-reconcile", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _poll(self, routed: RoutedQueue) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=routed.queue_url,
                    MaxNumberOfMessages=routed.batch_size,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self._stop.is_set():
                    return
                time.sleep(0.5)
                continue
            if messages:
                self.deliver(routed, messages)

    def deliver(self, routed: RoutedQueue, messages: list[dict[str, Any]]) -> None:
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": routed.queue_arn,
                    "awsRegion": self.settings.region,
                }
                for m in messages
            ]
        }
        failed: set[str] = set()
        try:
            response = routed.handler.handler(
                event, LambdaContext(function_name=f"trainforge-{routed.route.handler}")
            )
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        except Exception:
            failed = {m["MessageId"] for m in messages}
        self.invocations += 1
        self.failures += len(failed)
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=routed.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def idle(self) -> bool:
        """No message waiting or in flight in any queue."""
        for routed in self.queues:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=routed.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if int(attributes["ApproximateNumberOfMessages"]) or int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            ):
                return False
        return True
