"""Estimated cost of a training job from its instance type, count and billable seconds.

On-demand list prices for SageMaker training in us-east-1 (USD per instance-hour, 2025). They are estimates for
the report, not a bill: regions, savings plans and spot discounts change the real figure (spot jobs already
report fewer billable seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

TRAINING_PRICE_PER_HOUR_USD: dict[str, Decimal] = {
    k: Decimal(v)
    for k, v in {
        "ml.m5.large": "0.115", "ml.m5.xlarge": "0.23", "ml.m5.2xlarge": "0.461", "ml.m5.4xlarge": "0.922",
        "ml.m5.12xlarge": "2.765", "ml.m5.24xlarge": "5.53",
        "ml.m6i.large": "0.115", "ml.m6i.xlarge": "0.23", "ml.m6i.2xlarge": "0.461", "ml.m6i.4xlarge": "0.922",
        "ml.c5.xlarge": "0.204", "ml.c5.2xlarge": "0.408", "ml.c5.4xlarge": "0.816", "ml.c5.9xlarge": "1.836",
        "ml.c5.18xlarge": "3.672",
        "ml.r5.large": "0.151", "ml.r5.xlarge": "0.302", "ml.r5.2xlarge": "0.605",
        "ml.t3.medium": "0.05", "ml.t3.large": "0.1", "ml.t3.xlarge": "0.2", "ml.t3.2xlarge": "0.399",
        "ml.g4dn.xlarge": "0.736", "ml.g4dn.2xlarge": "0.94", "ml.g4dn.4xlarge": "1.505",
        "ml.g4dn.8xlarge": "2.72", "ml.g4dn.12xlarge": "4.89",
        "ml.g5.xlarge": "1.408", "ml.g5.2xlarge": "1.515", "ml.g5.4xlarge": "2.03", "ml.g5.8xlarge": "3.06",
        "ml.g5.12xlarge": "7.09", "ml.g5.48xlarge": "20.36",
        "ml.p3.2xlarge": "3.825", "ml.p3.8xlarge": "14.688", "ml.p3.16xlarge": "28.152",
        "ml.p4d.24xlarge": "37.688", "ml.p5.48xlarge": "113.068",
        "ml.trn1.2xlarge": "1.546", "ml.trn1.32xlarge": "24.725",
    }.items()
}  # fmt: skip

# How the bundled table is labelled wherever a price from it is shown.
BUNDLED_PRICES_SOURCE = "bundled table (us-east-1 list prices, 2025)"

_CENT_FRACTION = Decimal("0.0001")


def estimate_cost_usd(
    instance_type: str | None, instance_count: int | None, billable_seconds: int | None
) -> Decimal | None:
    """Billable seconds × instances × hourly price; None when any figure is unknown.

    SageMaker reports billable time per instance: multiply by the instance count for the cluster's cost.
    """
    if not instance_type or billable_seconds is None:
        return None
    price = TRAINING_PRICE_PER_HOUR_USD.get(instance_type)
    if price is None:
        return None
    count = instance_count or 1
    cost = price * Decimal(billable_seconds) * Decimal(count) / Decimal(3600)
    return cost.quantize(_CENT_FRACTION, rounding=ROUND_HALF_UP)


def cost_ceiling_usd(config: Mapping[str, Any] | None) -> Decimal | None:
    """The most a job can cost before it runs: price × instances × its longest possible billed time (max runtime,
    or for spot the max wait, which includes it). None when the job has no recorded settings or an unpriced type.
    """
    if not config:
        return None
    spot = config.get("use_spot_instances") is True
    limit = config.get("max_wait_seconds") if spot else config.get("max_runtime_seconds")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None
    count = config.get("instance_count")
    return estimate_cost_usd(
        config.get("instance_type"),
        count if isinstance(count, int) and not isinstance(count, bool) else 1,
        limit,
    )
