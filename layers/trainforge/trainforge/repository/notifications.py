"""Each event's deliveries to a team's subscriptions (the subscriptions are the team's, read with it): one row per event and subscription, claimed before
sending, so two deliveries of the same event (SQS is at least once, and may run them side by side) send once."""

from __future__ import annotations

from typing import Any

from trainforge.connection import Database

# Ours to send when new, failed before, or claimed by a sender that has been silent for five minutes (it died).
_CLAIM = """
INSERT INTO notification_deliveries AS d (event_id, team, subscription, detail_type, status, attempts)
VALUES (:event_id, :team, :subscription, :detail_type, 'sending', 1)
ON CONFLICT (event_id, subscription) DO UPDATE SET status = 'sending', attempts = d.attempts + 1, updated_at = now()
WHERE d.status = 'failed' OR (d.status = 'sending' AND d.updated_at < now() - interval '5 minutes')
RETURNING d.attempts
"""

_FINISH = """
UPDATE notification_deliveries SET status = CAST(:status AS varchar), response_status = :response_status,
    last_error = :error, updated_at = now(),
    delivered_at = CASE WHEN CAST(:status AS varchar) IN ('delivered', 'logged') THEN now() END
WHERE event_id = :event_id AND subscription = :subscription AND status = 'sending'
"""

_RECENT = """
SELECT event_id, subscription, detail_type, status, attempts, response_status, last_error, created_at, updated_at,
       delivered_at
FROM notification_deliveries WHERE team = :team ORDER BY updated_at DESC, id DESC LIMIT :limit
"""


def claim_delivery(db: Database, event_id: str, team: str, subscription: str, detail_type: str) -> int | None:
    """The attempt number when this sender now owns the delivery; None when it was delivered or is being sent."""
    rows = db.rows(
        _CLAIM, {"event_id": event_id, "team": team, "subscription": subscription, "detail_type": detail_type}
    )
    return int(rows[0]["attempts"]) if rows else None


def finish_delivery(
    db: Database,
    event_id: str,
    subscription: str,
    status: str,
    response_status: int | None,
    error: str | None,
) -> None:
    db.rows(
        _FINISH,
        {"event_id": event_id, "subscription": subscription, "status": status,
         "response_status": response_status, "error": error},
    )  # fmt: skip


def recent_deliveries(db: Database, team: str, limit: int = 50) -> list[dict[str, Any]]:
    return db.rows(_RECENT, {"team": team, "limit": limit})
