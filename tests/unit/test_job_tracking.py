from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.conftest import load_event
from trainforge.capacity.price_table import estimate_cost_usd
from trainforge.errors import SageMakerConfigurationError
from trainforge.tracking.state_changes import (
    complete_terminal_change,
    parse_time,
    state_change_from_description,
)

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)

STAMP = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [1795867200000, 1795867200000.0, "1795867200000", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00+00:00"],
)
def test_times_arrive_in_every_shape_sagemaker_uses(value: object) -> None:
    assert parse_time(value) == STAMP


def test_missing_times_are_none() -> None:
    assert parse_time(None) is None and parse_time("") is None


def test_a_completed_event_becomes_a_full_change() -> None:
    change = state_change_from_description(load_event("sagemaker_training_completed.json")["detail"])
    assert change.job_name == "churn-model-1"
    assert change.status == "Completed" and change.secondary_status == "Completed"
    assert change.final_metrics == {"validation:accuracy": 0.91, "train:loss": 0.23}
    assert change.model_artifacts_uri == "s3://trainforge-artifacts/output/churn-model-1/output/model.tar.gz"
    assert change.billable_seconds == 400
    assert change.instance_type == "ml.m5.xlarge" and change.instance_count == 2
    assert change.training_seconds == 420


def test_descriptions_that_cannot_be_trusted_name_the_field() -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        state_change_from_description({"TrainingJobName": "../x", "TrainingJobStatus": "Exploded"})
    assert {p.field for p in caught.value.problems} == {"detail.TrainingJobName", "detail.TrainingJobStatus"}


def test_terminal_changes_take_figures_from_describe_and_keep_the_event_when_it_fails() -> None:
    detail = load_event("sagemaker_training_completed.json")["detail"]
    bare = {k: v for k, v in detail.items() if k not in ("FinalMetricDataList", "BillableTimeInSeconds")}
    change = state_change_from_description(bare)
    completed = complete_terminal_change(change, lambda name: detail)
    assert completed.billable_seconds == 400 and completed.final_metrics

    def unavailable(name: str) -> dict[str, object]:
        raise TimeoutError("no answer")

    assert complete_terminal_change(change, unavailable) == change


def test_cost_is_billable_time_times_instances_times_price() -> None:
    assert estimate_cost_usd("ml.m5.xlarge", 2, 3600) == Decimal("0.4600")
    assert estimate_cost_usd("ml.unknown.large", 1, 3600) is None
    assert estimate_cost_usd("ml.m5.large", 1, None) is None


def test_each_start_begins_an_attempt_and_a_resumed_interruption_is_not_the_end() -> None:
    from trainforge.tracking.state_changes import attempt_of, transitions_of

    steps = ["Starting", "Downloading", "Training", "Interrupted", "Starting", "Training", "Starting", "Training",
             "Completed"]  # fmt: skip
    description = {
        "SecondaryStatusTransitions": [
            {"Status": step, "StartTime": 1795867000000 + 1000 * i} for i, step in enumerate(steps)
        ]
    }
    found = transitions_of(description)
    assert [(status, secondary, attempt) for status, secondary, _, attempt in found] == [
        ("InProgress", "Starting", 1), ("InProgress", "Downloading", 1), ("InProgress", "Training", 1),
        ("InProgress", "Interrupted", 1), ("InProgress", "Starting", 2), ("InProgress", "Training", 2),
        ("InProgress", "Starting", 3), ("InProgress", "Training", 3), ("Completed", "Completed", 3),
    ]  # fmt: skip
    assert attempt_of(description) == 3
    assert attempt_of({}) == 1
    ended = {"SecondaryStatusTransitions": [{"Status": "Starting", "StartTime": 1}, {"Status": "Interrupted",
                                                                                      "StartTime": 2}]}  # fmt: skip
    assert transitions_of(ended)[-1][0] == "Stopped"  # interrupted for good: the job's end
