"""Where prices come from: AWS's Price List Query API (``pricing:GetProducts``, service code ``AmazonSageMaker``)
for the deployment's region, stored with the time read and refreshed on the schedule; the bundled table only
when the Price List has never been reached, and then labelled as such."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from trainforge import repository
from trainforge.capacity.price_table import BUNDLED_PRICES_SOURCE, TRAINING_PRICE_PER_HOUR_USD
from trainforge.connection import Database
from trainforge.models.sagemaker_limits import INSTANCE_TYPE_PATTERN

SERVICE_CODE = "AmazonSageMaker"
# The Price List Query API answers from a few regions only; its records cover every region.
PRICE_LIST_REGION = "us-east-1"
PRICE_LIST_SOURCE = "AWS Price List"
AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
_CENT_FRACTION = Decimal("0.0001")


@dataclass(frozen=True)
class Price:
    usd_per_hour: Decimal
    source: str  # "AWS Price List, read 2026-11-29" or the bundled table's label
    read_at: datetime | None = None

    def ceiling(self, config: Mapping[str, Any]) -> Decimal | None:
        """Price × instances × the longest billed time the job allows (max runtime; spot: max wait)."""
        spot = config.get("use_spot_instances") is True
        limit = config.get("max_wait_seconds") if spot else config.get("max_runtime_seconds")
        count = config.get("instance_count", 1)
        if not isinstance(limit, int) or not isinstance(count, int):
            return None
        if isinstance(limit, bool) or isinstance(count, bool):
            return None
        cost = self.usd_per_hour * Decimal(limit) * Decimal(count) / Decimal(3600)
        return cost.quantize(_CENT_FRACTION, rounding=ROUND_HALF_UP)


def price_of(db: Database, region: str, instance_type: str) -> Price | None:
    """The region's price from the Price List when it was read, else the bundled table's, else None."""
    stored = repository.price_for(db, region, instance_type)
    if stored is not None:
        usd, read_at, source = stored
        return Price(usd, f"{source}, read {read_at.date().isoformat()}", read_at)
    bundled = TRAINING_PRICE_PER_HOUR_USD.get(instance_type)
    return Price(bundled, BUNDLED_PRICES_SOURCE) if bundled is not None else None


def read_training_prices(pricing: Any, region: str) -> list[dict[str, Any]]:
    """Every on-demand SageMaker training price in ``region``: ``{instance_type, usd_per_hour, sku,
    effective_at}``. Records that do not parse are skipped (the Price List carries many other products)."""
    paginator = pricing.get_paginator("get_products")
    found: dict[str, dict[str, Any]] = {}
    for page in paginator.paginate(
        ServiceCode=SERVICE_CODE,
        FormatVersion="aws_v1",
        Filters=[
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": "Training"},
        ],
    ):
        for text in page.get("PriceList", []):
            record = parse_price_record(text)
            if record is not None:
                found[record["instance_type"]] = record
    return list(found.values())


def parse_price_record(text: Any) -> dict[str, Any] | None:
    """One Price List record (a JSON string) as a training price, or None when it is not one."""
    try:
        record = json.loads(text) if isinstance(text, str) else text
        attributes = record["product"]["attributes"]
        if attributes.get("platoinstancetype") != "Training":
            return None
        instance_type = (
            attributes.get("instanceName") or str(attributes.get("instanceType", "")).split("-")[0]
        )
        if not INSTANCE_TYPE_PATTERN.fullmatch(instance_type):
            return None
        for term in record["terms"]["OnDemand"].values():
            for dimension in term["priceDimensions"].values():
                if dimension.get("unit") != "Hrs":
                    continue
                usd = Decimal(dimension["pricePerUnit"]["USD"])
                if usd <= 0:
                    continue
                return {
                    "instance_type": instance_type,
                    "usd_per_hour": str(usd),
                    "sku": str(record["product"].get("sku", ""))[:64] or None,
                    "effective_at": term.get("effectiveDate"),
                }
    except (KeyError, TypeError, AttributeError, ValueError, InvalidOperation):
        return None
    return None


def price_list_name(endpoint_url: str) -> str:
    """Whose Price List an endpoint is: AWS's, or a stand-in named by where it listens (local mode's serves the
    bundled table), so a price is never called AWS's that AWS did not give."""
    parts = urlsplit(endpoint_url)
    if (parts.hostname or "").endswith(AWS_DOMAINS):
        return PRICE_LIST_SOURCE
    return f"Price List stand-in at {parts.netloc} (not AWS's prices)"


def refresh_prices(db: Database, pricing: Any, region: str) -> int:
    """Read the region's training prices and store them, with whose they are; the number stored. Raises when the
    API cannot be reached (the stored prices, or the bundled table, stay in use)."""
    prices = read_training_prices(pricing, region)
    repository.store_prices(db, region, prices, price_list_name(pricing.meta.endpoint_url))
    return len(prices)
