"""A job's cost ceiling, known before it runs: price × instances × the longest time it can be billed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trainforge.capacity.price_table import cost_ceiling_usd
from trainforge.capacity.prices import price_list_name
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


@pytest.mark.parametrize(
    ("region", "name"),
    [("us-east-1", "AWS Price List"), ("ap-south-1", "AWS Price List"), ("cn-northwest-1", "AWS Price List")],
)
def test_botocores_own_price_list_endpoints_are_aws(
    region: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's endpoint for the region, as a deployed function reaches it (no AWS_ENDPOINT_URL there)
    from botocore.session import get_session

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_PRICING", raising=False)
    session = get_session()
    client = session.create_client(
        "pricing", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert price_list_name(client.meta.endpoint_url) == name


def test_a_stand_in_price_list_is_never_called_aws() -> None:
    named = price_list_name("http://127.0.0.1:8090")
    assert named == "Price List stand-in at 127.0.0.1:8090 (not AWS's prices)"
    assert price_list_name("https://pricing.example.com") != "AWS Price List"
    assert price_list_name("https://amazonaws.com.evil.example") != "AWS Price List"
