"""A notice's parts that nobody else checks: its signature as a receiver recomputes it, its SNS subject, and
which subscriptions want which events."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from trainforge.delivery import PoisonEventError
from trainforge.models.team_definitions import Subscription
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
