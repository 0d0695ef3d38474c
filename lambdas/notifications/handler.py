"""Trainforge's own events (source "trainforge") to the teams that subscribed: webhooks, email, chat channels.
A subscription that failed makes the record fail, so SQS delivers the event again (those that took it are not
sent it twice) until its dead-letter queue keeps it."""

from __future__ import annotations

import gc

gc.disable()  # init builds only what the container keeps: no collection while it loads

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from trainforge.aws import client
from trainforge.delivery import back_off, batch_response
from trainforge.models.team_definitions import email_topic_name
from trainforge.notifications.delivery import Channels, DeliveryFailedError, Notice, deliver_notice
from trainforge.runtime import Runtime, end_of_init

logger = Logger(service="trainforge")
tracer = Tracer(service="trainforge", patch_modules=("boto3",))
metrics = Metrics(namespace="Trainforge", service="notifications")
RUNTIME = Runtime(clients=("secretsmanager", "sns"))
SECRET_TTL_SECONDS = 300.0  # a rotated webhook secret is picked up within five minutes
_secrets: dict[str, tuple[float, str]] = {}


def secret(name: str) -> str:
    kept = _secrets.get(name)
    if kept is None or time.monotonic() - kept[0] > SECRET_TTL_SECONDS:
        value = client("secretsmanager", RUNTIME.settings.region).get_secret_value(SecretId=name)[
            "SecretString"
        ]
        kept = _secrets[name] = (time.monotonic(), value)
    return kept[1]


def publish(topic_arn: str, subject: str, message: str) -> None:
    client("sns", RUNTIME.settings.region).publish(TopicArn=topic_arn, Subject=subject, Message=message)


def team_topic(team: str) -> str:
    settings = RUNTIME.settings
    return f"arn:aws:sns:{settings.region}:{settings.account_id}:{email_topic_name(team)}"


CHANNELS = Channels(
    secret=secret,
    publish=publish,
    team_topic=team_topic,
    local=RUNTIME.settings.mode == "local",
    log=logger.info,
)


def notify(event: dict[str, Any]) -> str:
    notice = Notice.from_event(event)
    logger.append_keys(event_id=notice.event_id, team=notice.team)
    try:
        outcomes = RUNTIME.transaction(lambda db: deliver_notice(db, notice, CHANNELS))
    except DeliveryFailedError as exc:
        metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("a subscription did not take the event: it is delivered again", reason=str(exc))
        raise
    sent = sum(status in ("delivered", "logged") for status in outcomes.values())
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=sent)
    logger.info("event notified", outcomes=outcomes)
    return "notified" if sent else "nobody"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = batch_response(event, notify, RUNTIME.settings, logger.error)
    # A webhook that is down gets its event again after 30 s, 1, 2, 4 then 8 minutes, then the dead-letter queue.
    back_off(event, [f["itemIdentifier"] for f in response["batchItemFailures"]], RUNTIME.settings.region)
    return response


end_of_init()
