"""SageMaker training prices as a Price List gave them (AWS's, or a stand-in's), per region and instance type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from trainforge.connection import Database, json_param

_STORE = """
INSERT INTO instance_prices AS p (region, instance_type, usd_per_hour, sku, effective_at, read_at, source)
SELECT :region, r.instance_type, r.usd_per_hour, r.sku, r.effective_at, now(), :source
FROM jsonb_to_recordset(CAST(:prices AS jsonb))
    AS r(instance_type text, usd_per_hour numeric, sku text, effective_at timestamptz)
ON CONFLICT (region, instance_type) DO UPDATE SET usd_per_hour = EXCLUDED.usd_per_hour, sku = EXCLUDED.sku,
    effective_at = EXCLUDED.effective_at, read_at = now(), source = EXCLUDED.source
"""


def store_prices(db: Database, region: str, prices: list[dict[str, Any]], source: str) -> None:
    """Upsert ``{instance_type, usd_per_hour, sku, effective_at}`` records read now from ``source``."""
    if prices:
        db.rows(_STORE, {"region": region, "prices": json_param(prices), "source": source})


def price_for(db: Database, region: str, instance_type: str) -> tuple[Decimal, datetime, str] | None:
    """The stored price per instance-hour, when it was read and from which Price List, or None."""
    rows = db.rows(
        "SELECT usd_per_hour, read_at, source FROM instance_prices WHERE region = :region AND instance_type = :type",
        {"region": region, "type": instance_type},
    )
    return (Decimal(rows[0]["usd_per_hour"]), rows[0]["read_at"], rows[0]["source"]) if rows else None


def prices_read_at(db: Database, region: str) -> datetime | None:
    rows = db.rows(
        "SELECT max(read_at) AS read_at FROM instance_prices WHERE region = :region", {"region": region}
    )
    return rows[0]["read_at"] if rows else None
