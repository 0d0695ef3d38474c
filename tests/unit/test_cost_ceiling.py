"""A job's cost ceiling, known before it runs: price × instances × the longest time it can be billed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trainforge.capacity.price_table import cost_ceiling_usd
from trainforge.job_settings.training_config import TrainingConfig


@pytest.mark.parametrize(
    ("settings", "ceiling"),
    [
        ({"instance_type": "ml.m5.xlarge", "max_runtime_seconds": 86400}, Decimal("5.52")),
        (
            {"instance_type": "ml.p3.2xlarge", "instance_count": 2, "max_runtime_seconds": 1800},
            Decimal("3.825"),
        ),
        # Spot: billed at most until the max wait, which includes the runtime.
        (
            {
                "instance_type": "ml.g5.xlarge",
                "max_runtime_seconds": 3600,
                "use_spot_instances": True,
                "max_wait_seconds": 7200,
            },
            Decimal("2.816"),
        ),
        ({"instance_type": "ml.unknown.large", "max_runtime_seconds": 3600}, None),
        ({}, None),
    ],
)
def test_the_ceiling_is_price_times_instances_times_the_longest_billed_time(
    settings: dict[str, object], ceiling: Decimal | None
) -> None:
    assert cost_ceiling_usd(settings) == ceiling


def test_a_recorded_training_config_has_a_ceiling() -> None:
    config = TrainingConfig(job_name="priced", instance_type="ml.m5.large", max_runtime_seconds=7200)
    assert cost_ceiling_usd(config.to_dict()) == Decimal("0.23")
