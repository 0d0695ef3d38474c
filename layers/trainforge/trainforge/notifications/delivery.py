"""Trainforge's events to the teams that subscribed: a webhook (an HTTPS POST signed with HMAC-SHA256 over the
timestamp and the body, its secret in Secrets Manager), an email (SNS) or a chat channel (the SNS topic an AWS
Chatbot channel configuration listens to). Each event reaches each subscription once: its delivery is claimed in
the database before sending and marked after, so a redelivered or duplicated event is not sent again where it
arrived, and a target that failed is tried again on the event's next delivery (SQS's retries, then its DLQ)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trainforge.connection import Database
from trainforge.delivery import PoisonEventError
from trainforge.models.events import DETAIL_TYPES
from trainforge.models.team_definitions import Subscription
from trainforge.repository import notifications as repository
from trainforge.repository.teams import get_team
from trainforge.routing import TRAINFORGE_SOURCE

SIGNATURE_HEADER = "Trainforge-Signature"
WEBHOOK_TIMEOUT_SECONDS = 5.0


class DeliveryFailedError(Exception):
    """A subscription did not take the event: the event is delivered again later (those that took it are skipped)."""


@dataclass(frozen=True)
class Notice:
    event_id: str
    detail_type: str
    team: str | None
    detail: dict[str, Any]
    event: dict[str, Any]  # the EventBridge event as it arrived: what a webhook receives

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Notice:
        detail = event.get("detail")
        if event.get("source") != TRAINFORGE_SOURCE or event.get("detail-type") not in DETAIL_TYPES:
            raise PoisonEventError(f"not one of Trainforge's own events: {event.get('detail-type')!r}")
        if not isinstance(detail, dict) or not isinstance(detail.get("event_id"), str):
            raise PoisonEventError("a Trainforge event without detail.event_id")
        team = detail.get("team")
        return cls(detail["event_id"], str(event["detail-type"]), team if isinstance(team, str) else None, detail,
                   dict(event))  # fmt: skip

    def headline(self) -> str:
        """One line a person reads: what happened to what."""
        d = self.detail
        name = d.get("job_name") or d.get("tuning_job_name") or d.get("codebuild_id") or d.get("team")
        if "threshold_percent" in d:
            return (
                f"Trainforge: team {d.get('team')} has spent {d['threshold_percent']}% of its monthly budget"
            )
        if "new_status" in d:
            reason = f" ({d['reason']})" if d.get("reason") else ""
            return f"Trainforge: {name} is {d['new_status']}{reason}"[:200]
        return f"Trainforge: {self.detail_type} for {name}"


def subject_of(headline: str) -> str:
    """SNS's rules for a subject: printable ASCII on one line, under 100 characters."""
    return "".join(c if " " <= c <= "~" else " " for c in headline)[:99]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: a receiver recomputes it and refuses old times."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_webhook(url: str, body: bytes, secret: str, event_id: str) -> int:
    """POST the event; the HTTP status (an error status is returned, not raised)."""
    request = urllib.request.Request(  # noqa: S310 - the URL was validated as https:// (or this machine's http://)
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "trainforge-notifications",
                 "Trainforge-Event-Id": event_id, SIGNATURE_HEADER: signature(secret, int(time.time()), body)},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class Channels:
    """How notices leave: built once per process (clients reused), replaceable only by configuration."""

    secret: Callable[[str], str]  # a secret's value by name
    publish: Callable[[str, str, str], None]  # (topic ARN, subject, message)
    team_topic: Callable[[str], str]  # a team's email topic ARN
    local: bool = False  # local mode: email and chat notices are logged ("would send"), not sent
    log: Callable[[str], None] = print
    webhook: Callable[[str, bytes, str, str], int] = field(default=post_webhook)


def _send(
    notice: Notice, subscription: Subscription, channels: Channels
) -> tuple[str, int | None, str | None]:
    """(status, HTTP status, error) of one attempt."""
    if subscription.kind == "webhook":
        body = json.dumps(notice.event, default=str, sort_keys=True).encode()
        secret = channels.secret(str(subscription.secret_name))
        code = channels.webhook(subscription.target, body, secret, notice.event_id)
        return (
            ("delivered", code, None)
            if 200 <= code < 300
            else ("failed", code, f"the webhook answered {code}")
        )
    if subscription.kind == "email":
        text = f"{notice.headline()}\n\n{json.dumps(notice.detail, indent=2, default=str)}"
        if channels.local:
            channels.log(f"would send email to {subscription.target}: {notice.headline()}")
            return "logged", None, None
        channels.publish(channels.team_topic(str(notice.team)), subject_of(notice.headline()), text)
        return "delivered", None, None
    # AWS Chatbot's custom notification format (Slack and Microsoft Teams)
    message = json.dumps({
        "version": "1.0", "source": "custom",
        "content": {"textType": "client-markdown", "title": notice.headline(),
                    "description": "\n".join(f"*{k}*: {v}" for k, v in notice.detail.items() if v is not None)},
    })  # fmt: skip
    if channels.local:
        channels.log(f"would send to chat topic {subscription.target}: {notice.headline()}")
        return "logged", None, None
    channels.publish(subscription.target, subject_of(notice.headline()), message)
    return "delivered", None, None


def deliver_notice(db: Database, notice: Notice, channels: Channels) -> dict[str, str]:
    """Send ``notice`` to each of its team's subscriptions that wants it and has not had it: {subscription: status}.
    Raises :class:`DeliveryFailedError` when one failed (after trying them all)."""
    if notice.team is None:
        return {}
    team = get_team(db, notice.team)
    outcomes: dict[str, str] = {}
    failed: list[str] = []
    for values in team.notifications if team is not None else []:
        subscription = Subscription.from_dict(values)
        if not subscription.wants(notice.detail_type, notice.detail):
            continue
        attempt = repository.claim_delivery(
            db, notice.event_id, notice.team, subscription.key, notice.detail_type
        )
        if attempt is None:
            outcomes[subscription.key] = "already"
            continue
        try:
            status, code, error = _send(notice, subscription, channels)
        except Exception as exc:  # the target's failure, whatever it was: recorded, retried with the event
            status, code, error = "failed", None, f"{type(exc).__name__}: {exc}"[:1000]
        repository.finish_delivery(db, notice.event_id, subscription.key, status, code, error)
        outcomes[subscription.key] = status
        if status == "failed":
            failed.append(f"{subscription.key}: {error}")
    if failed:
        raise DeliveryFailedError("; ".join(failed))
    return outcomes
