"""Trainforge's own events on EventBridge: their source, detail-types and version, and the event a row of the
outbox becomes."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from trainforge.routing import TRAINFORGE_SOURCE

VERSION = "1"  # the detail's schema version (docs/events/): a field added keeps it, a field changed bumps it
# The API path of what an event is about (joined to the deployment's API URL when it is known).
_PATHS = {"job": "/jobs/{}", "tuning_job": "/tuning-jobs/{}", "build": "/builds/{}"}


def event_id(outbox_id: int) -> str:
    """Stable across re-publications of the same row: a consumer de-duplicates on it."""
    return f"trainforge-{outbox_id}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def detail_of(row: dict[str, Any], api_url: str | None) -> dict[str, Any]:
    """The event's detail: what the trigger recorded, and what only the relay knows (cost so far, URL)."""
    detail = dict(row["detail"]) if isinstance(row["detail"], dict) else json.loads(row["detail"])
    path = _PATHS[row["subject"]].format(row["subject_id"]) if row["subject"] in _PATHS else None
    if row["subject"] == "team":
        path = f"/teams/{row['team']}/usage"
    created: datetime = row["created_at"]
    detail.update(
        event_id=event_id(row["id"]),
        version=VERSION,
        occurred_at=created.isoformat(),
        path=path,
        url=f"{api_url.rstrip('/')}{path}" if api_url and path else None,
    )
    if row["subject"] == "job":
        detail.update(
            cost_usd=_number(row.get("estimated_cost_usd")),
            cost_ceiling_usd=_number(row.get("cost_ceiling_usd")),
        )
    for key in ("spent_usd", "committed_usd", "monthly_budget_usd", "best_objective_value"):
        if key in detail and detail[key] is not None:
            detail[key] = float(detail[key])
    return detail


def entry_of(row: dict[str, Any], bus_name: str, api_url: str | None) -> dict[str, Any]:
    """A PutEvents entry for an outbox row."""
    return {
        "Source": TRAINFORGE_SOURCE,
        "DetailType": row["detail_type"],
        "Detail": json.dumps(detail_of(row, api_url), default=str),
        "EventBusName": bus_name,
        "Time": row["created_at"],
    }
