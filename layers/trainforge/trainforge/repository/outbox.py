"""Trainforge's own events waiting in the outbox (written by the triggers of migration 0012): claimed by one
relay at a time, marked once EventBridge has taken them."""

from __future__ import annotations

from typing import Any

from trainforge.connection import Database
from trainforge.models.events import NOTIFICATION_TEST

# SKIP LOCKED: two relays (a handler's and the schedule's) never publish the same rows at once; a row a crashed
# relay had claimed is free again when its transaction ends, and is published by the next one.
_CLAIM = """
SELECT o.id, o.detail_type, o.team, o.subject, o.subject_id, o.detail, o.created_at,
       r.estimated_cost_usd, j.cost_ceiling_usd
FROM event_outbox o
LEFT JOIN training_reports r ON o.subject = 'job' AND r.job_id = o.subject_id
LEFT JOIN training_jobs j ON o.subject = 'job' AND j.id = o.subject_id
WHERE o.published_at IS NULL
ORDER BY o.id
LIMIT :limit
FOR UPDATE OF o SKIP LOCKED
"""


def claim_unpublished(db: Database, limit: int) -> list[dict[str, Any]]:
    """The oldest unpublished events no other relay holds, locked until the caller's transaction ends."""
    return db.rows(_CLAIM, {"limit": limit})


def mark_published(db: Database, ids: list[int]) -> None:
    if ids:
        db.rows(
            "UPDATE event_outbox SET published_at = now() WHERE id = ANY(CAST(:ids AS bigint[]))",
            {"ids": "{" + ",".join(str(i) for i in ids) + "}"},
        )


def any_unpublished(db: Database) -> bool:
    """One round trip, no transaction: most calls find nothing to publish (reads write no status)."""
    return bool(
        db.rows("SELECT EXISTS (SELECT 1 FROM event_outbox WHERE published_at IS NULL) AS found")[0]["found"]
    )


def add_test_event(db: Database, team: str, requested_by: str | None) -> int:
    """A notification test for ``team``, through the same outbox and relay as every event; its outbox id."""
    (row,) = db.rows(
        "INSERT INTO event_outbox (detail_type, team, subject, subject_id, detail) "
        "VALUES (:detail_type, :team, 'team', NULL, jsonb_build_object("
        "'team', CAST(:team AS varchar), 'requested_by', CAST(:by AS varchar), "
        "'message', 'A test of this team''s notifications: nothing happened to any job.')) RETURNING id",
        {"detail_type": NOTIFICATION_TEST, "team": team, "by": requested_by},
    )
    return int(row["id"])
