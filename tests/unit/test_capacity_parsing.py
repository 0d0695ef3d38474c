"""Reading AWS's own words: SageMaker's ResourceLimitExceeded messages, Service Quotas' names, Price List records."""

from __future__ import annotations

import json

import pytest

from trainforge.capacity.admission import QUOTA_NAME, CapacityRefusal, pool_of
from trainforge.capacity.prices import Price, parse_price_record
from trainforge.local.aws.standins import price_record
from trainforge.settings import Settings, SettingsError

# As SageMaker words it (the CLI prints it after "An error occurred (ResourceLimitExceeded) when calling the
# CreateTrainingJob operation: ").
SAGEMAKER_LIMIT = (
    "The account-level service limit 'ml.p3.2xlarge for training job usage' is 2 Instances, with current "
    "utilization of 2 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an "
    "increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase "
    "for this quota."
)


def test_an_instance_quota_refusal_gives_its_figures() -> None:
    refusal = CapacityRefusal.parse(SAGEMAKER_LIMIT)
    assert refusal is not None and (refusal.quota, refusal.used) == (2, 2)
    spot = CapacityRefusal.parse(
        SAGEMAKER_LIMIT.replace("for training", "for spot training").replace("is 2", "is 0")
    )
    assert spot is not None and spot.quota == 0


def test_other_limits_are_not_capacity() -> None:
    assert CapacityRefusal.parse("The account-level service limit 'Number of training jobs' is 5") is None
    hinted = CapacityRefusal.parse("quota 'ml.g5.xlarge for training job usage' exceeded")
    assert hinted is not None and hinted.quota is None


@pytest.mark.parametrize(
    ("name", "pool"),
    [
        ("ml.p3.2xlarge for training job usage", "ml.p3.2xlarge"),
        ("ml.g5.xlarge for spot training job usage", "ml.g5.xlarge/spot"),
        ("ml.p4de.24xlarge for training job usage", "ml.p4de.24xlarge"),
        ("ml.m5.large for endpoint usage", None),
        ("Longest run time for a training job", None),
    ],
)
def test_service_quota_names_map_to_pools(name: str, pool: str | None) -> None:
    match = QUOTA_NAME.fullmatch(name)
    assert (pool_of(match.group("type"), bool(match.group("spot"))) if match else None) == pool


def test_a_price_list_record_is_read_and_others_are_skipped() -> None:
    from decimal import Decimal

    training = json.dumps(price_record("eu-west-1", "ml.g5.xlarge", Decimal("1.57")))
    parsed = parse_price_record(training)
    assert (
        parsed is not None
        and parsed["instance_type"] == "ml.g5.xlarge"
        and Decimal(parsed["usd_per_hour"]) == Decimal("1.57")
    )
    assert (
        parse_price_record(json.dumps(price_record("eu-west-1", "ml.g5.xlarge", Decimal("1.8"), "Hosting")))
        is None
    )
    assert parse_price_record("not json") is None
    assert (
        parse_price_record(json.dumps({"product": {"attributes": {"platoinstancetype": "Training"}}})) is None
    )


def test_a_ceiling_is_price_times_instances_times_the_longest_billed_time() -> None:
    from decimal import Decimal

    price = Price(Decimal("3.825"), "test")
    assert price.ceiling({"instance_count": 2, "max_runtime_seconds": 3600}) == Decimal("7.6500")
    spot = {
        "instance_count": 1,
        "max_runtime_seconds": 3600,
        "use_spot_instances": True,
        "max_wait_seconds": 7200,
    }
    assert price.ceiling(spot) == Decimal("7.6500")
    assert price.ceiling({"instance_count": True, "max_runtime_seconds": 3600}) is None


def test_local_quotas_are_read_and_a_bad_one_is_named() -> None:
    settings = Settings.from_env({"TRAINFORGE_LOCAL_INSTANCE_QUOTAS": "ml.m5.large=2, ml.g5.xlarge/spot=1"})
    assert settings.local_instance_quotas == (("ml.m5.large", 2), ("ml.g5.xlarge/spot", 1))
    with pytest.raises(SettingsError, match="TRAINFORGE_LOCAL_INSTANCE_QUOTAS"):
        Settings.from_env({"TRAINFORGE_LOCAL_INSTANCE_QUOTAS": "m5=two"})


def test_a_quota_smaller_than_the_job_never_fits() -> None:
    zero = CapacityRefusal.parse("The account-level service limit 'ml.m5.large for training job usage' is 0")
    assert zero is not None and zero.quota == 0 and zero.used is None and zero.never_fits(1)
    two = CapacityRefusal.parse(SAGEMAKER_LIMIT)
    assert two is not None and not two.never_fits(2) and two.never_fits(3)
