"""A team's notices: a test sent through the same path as every event, and the last deliveries and failures."""

from __future__ import annotations

from typing import Any

from trainforge.connection import Database
from trainforge.models.rows import TeamRow
from trainforge.notifications.events import event_id
from trainforge.repository import notifications, outbox


def send_test(db: Database, team: TeamRow, requested_by: str | None) -> dict[str, Any]:
    """Queue a test event for ``team`` (the relay publishes it, the notifications function delivers it)."""
    return {
        "event_id": event_id(outbox.add_test_event(db, team.name, requested_by)),
        "subscriptions": len(team.notifications),
    }


def deliveries(db: Database, team: TeamRow, limit: int = 50) -> dict[str, Any]:
    rows = notifications.recent_deliveries(db, team.name, limit)
    shown = [{**row, **{k: row[k].isoformat() for k in ("created_at", "updated_at", "delivered_at") if row[k]}}
             for row in rows]  # fmt: skip
    return {"team": team.name, "subscriptions": len(team.notifications), "deliveries": shown}
