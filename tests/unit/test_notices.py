"""A notice's parts that nobody else checks: its signature as a receiver recomputes it, its SNS subject, and
which subscriptions want which events."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from local_mode.webhook_receiver import verify
from trainforge.delivery import PoisonEventError, backoff_seconds
from trainforge.errors import Problem
from trainforge.models.team_definitions import Subscription, parse_subscription
from trainforge.notifications.delivery import Notice, signature, subject_of


def test_the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() -> None:
    body = b'{"detail": {"event_id": "trainforge-1"}}'
    header = signature("s3cret", 1796300000, body)
    expected = hmac.new(b"s3cret", b"1796300000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1796300000,v1={expected}"
    assert signature("other", 1796300000, body) != header and signature("s3cret", 1796300001, body) != header


def test_a_subject_is_one_line_of_printable_ascii_under_100_characters() -> None:
    subject = subject_of("Trainforge: job-é is Failed (AlgorithmError:\nTraceback…)" + "x" * 200)
    assert len(subject) == 99 and subject.isascii() and "\n" not in subject and subject.isprintable()


@pytest.mark.parametrize(
    ("events", "statuses", "detail_type", "status", "wanted"),
    [
        ((), (), "Trainforge Build State Change", "SUCCEEDED", True),
        ((), ("Failed",), "Trainforge Job State Change", "Completed", False),
        ((), ("Failed",), "Trainforge Job State Change", "Failed", True),
        (
            (),
            ("Failed",),
            "Trainforge Budget Threshold Reached",
            None,
            True,
        ),  # no status: the filter passes it
        (("Trainforge Budget Threshold Reached",), (), "Trainforge Job State Change", "Failed", False),
    ],
)
def test_a_subscription_wants_what_its_filters_name(
    events: tuple[str, ...], statuses: tuple[str, ...], detail_type: str, status: str | None, wanted: bool
) -> None:
    detail = {} if status is None else {"new_status": status}
    assert Subscription("email", "a@example.com", events, statuses).wants(detail_type, detail) is wanted


@pytest.mark.parametrize(
    "event",
    [
        {
            "source": "aws.sagemaker",
            "detail-type": "Trainforge Job State Change",
            "detail": {"event_id": "x"},
        },
        {"source": "trainforge", "detail-type": "Training Job Requested", "detail": {"event_id": "x"}},
        {"source": "trainforge", "detail-type": "Trainforge Job State Change", "detail": "not an object"},
    ],
)
def test_an_event_that_is_not_trainforges_own_is_poison(event: dict[str, object]) -> None:
    with pytest.raises(PoisonEventError):
        Notice.from_event(event)


TOPIC = "arn:aws:sns:us-east-1:123456789012:trainforge-team-vision-chat"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"kind": "chatbot", "target": TOPIC, "channel": "slack:T0123ABCD/C0456EFGH"}, None),
        (
            {
                "kind": "chatbot",
                "target": TOPIC,
                "channel": "msteams:a1b2c3d4-0000-4000-8000-000000000001/b2c3d4e5-0000-4000-8000-000000000002/"
                "19%3a0f3c5f3bd5a94e0f%40thread.tacv2",
            },
            None,
        ),
        # As Microsoft Teams shows it, not as its link copies it: CloudFormation refuses the unencoded form.
        (
            {
                "kind": "chatbot",
                "target": TOPIC,
                "channel": "msteams:a1b2c3d4-0000-4000-8000-000000000001/b2c3d4e5-0000-4000-8000-000000000002/"
                "19:0f3c5f3bd5a94e0f@thread.tacv2",
            },
            "notifications.0.channel",
        ),
        ({"kind": "chatbot", "target": TOPIC, "channel": "slack:t0123/C0456"}, "notifications.0.channel"),
        ({"kind": "chatbot", "target": TOPIC, "channel": "discord:123/456"}, "notifications.0.channel"),
        ({"kind": "email", "target": "a@example.com", "channel": "slack:T01/C02"}, "notifications.0.channel"),
    ],
)
def test_a_chat_channel_is_slacks_or_microsoft_teams_as_aws_chatbot_takes_it(
    values: dict[str, str], problem: str | None
) -> None:
    problems: list[Problem] = []
    found = parse_subscription(values, "notifications.0", problems)
    assert [p.field for p in problems] == ([problem] if problem else [])
    if problem is None:
        assert found is not None and Subscription.from_dict(found.to_dict()) == found


def test_the_demos_receiver_accepts_trainforges_signature_and_nothing_else() -> None:
    body = b'{"detail": {"event_id": "trainforge-7"}}'
    now = int(time.time())
    assert verify("s3cret", signature("s3cret", now, body), body)
    assert not verify("s3cret", signature("s3cret", now, body), body + b" ")  # the body changed
    assert not verify("other", signature("s3cret", now, body), body)
    assert not verify("s3cret", signature("s3cret", now - 301, body), body)  # a replay, 5 minutes late
    assert not verify("s3cret", "v1=abc", body) and not verify("s3cret", "t=x,v1=abc", body)


def test_a_failed_notice_waits_twice_as_long_each_time_up_to_15_minutes() -> None:
    assert [backoff_seconds(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert backoff_seconds(0) == 30  # a count SQS did not give
