"""How events reach Trainforge: an SQS batch whose bodies are EventBridge events (as deployed), or one bare
EventBridge event (direct invocation, as local mode and operators use it).

Each record is handled alone. A record that fails for a reason that may pass (the database is down, SageMaker
is busy) is reported as a batch item failure, so SQS delivers it again. A record that can never succeed (a
poison event) is sent to the dead-letter queue with its reason and reported done, so it is not retried forever.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trainforge.aws import client

RecordHandler = Callable[[dict[str, Any]], str]


class PoisonEventError(Exception):
    """This event can never be processed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class DeliveryReport:
    outcomes: list[str]
    failures: list[str]
    dead_lettered: list[str]

    def lambda_response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in self.failures]}


def is_sqs_batch(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return isinstance(records, list) and all(
        isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records
    )


def parse_body(body: Any) -> dict[str, Any]:
    """An SQS body as the EventBridge event it carries."""
    if not isinstance(body, str):
        raise PoisonEventError("SQS message body is not text")
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as exc:
        raise PoisonEventError(f"SQS message body is not JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(parsed, dict):
        raise PoisonEventError("SQS message body is not a JSON object")
    return parsed


def deliver(
    event: Mapping[str, Any],
    handle: RecordHandler,
    *,
    dead_letter_queue_url: str | None,
    region: str,
    log: Callable[..., None],
) -> DeliveryReport:
    """Run ``handle`` on each event; sort the outcomes into done, retry and dead-lettered."""
    report = DeliveryReport([], [], [])
    if not is_sqs_batch(event):
        try:
            report.outcomes.append(handle(dict(event)))
        except PoisonEventError as exc:
            log("poison event refused", reason=exc.reason)
            raise
        return report
    for record in event["Records"]:
        message_id = str(record.get("messageId", ""))
        try:
            report.outcomes.append(handle(parse_body(record.get("body"))))
        except PoisonEventError as exc:
            if dead_letter_queue_url and _dead_letter(dead_letter_queue_url, region, record, exc.reason):
                log("poison event dead-lettered", reason=exc.reason, message_id=message_id)
                report.dead_lettered.append(message_id)
            else:
                log("poison event left for SQS redrive", reason=exc.reason, message_id=message_id)
                report.failures.append(message_id)
        except Exception as exc:
            log(
                "record failed; it will be retried",
                error=f"{type(exc).__name__}: {exc}",
                message_id=message_id,
            )
            report.failures.append(message_id)
    return report


def batch_response(
    event: Mapping[str, Any], handle: RecordHandler, settings: Any, log: Callable[..., None]
) -> dict[str, Any]:
    """What an event handler answers Lambda: per-record failures for SQS, poison to the dead-letter queue."""
    report = deliver(
        event, handle, dead_letter_queue_url=settings.dead_letter_queue_url, region=settings.region, log=log
    )
    return report.lambda_response()


def _dead_letter(queue_url: str, region: str, record: Mapping[str, Any], reason: str) -> bool:
    try:
        client("sqs", region).send_message(
            QueueUrl=queue_url,
            MessageBody=str(record.get("body", "")),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:1000]},
                "sourceMessageId": {
                    "DataType": "String",
                    "StringValue": str(record.get("messageId", "unknown")),
                },
            },
        )
    except Exception:
        return False
    return True


def backoff_seconds(receives: int, first: int = 30, most: int = 900) -> int:
    """How long a failed record stays away before its next try: doubling from ``first`` with each receive, at
    most ``most`` (SQS's own retries would all wait the same visibility timeout)."""
    return min(most, first * int(2 ** min(max(0, receives - 1), 16)))


_queue_urls: dict[str, str] = {}


def back_off(event: Mapping[str, Any], failures: list[str], region: str) -> None:
    """Make each failed record of an SQS batch wait :func:`backoff_seconds` before it is delivered again. Best
    effort: when SQS refuses, the queue's visibility timeout applies, as it would have."""
    if not failures or not is_sqs_batch(event):
        return
    records = {str(r.get("messageId")): r for r in event["Records"]}
    sqs = client("sqs", region)
    for message_id in failures:
        record = records.get(message_id)
        if record is None:
            continue
        try:
            arn = str(record["eventSourceARN"])
            url = _queue_urls.get(arn)
            if url is None:
                _, _, _, _, account, name = arn.split(":", 5)
                url = _queue_urls[arn] = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                    "QueueUrl"
                ]
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
            sqs.change_message_visibility(
                QueueUrl=url,
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=backoff_seconds(receives),
            )
        except Exception:  # noqa: S112 - the queue's own timeout is the fallback
            continue
