"""The outbox's relay: unpublished events to EventBridge, oldest first. Handlers run it right after their work
commits; the schedule runs it too, so an event whose handler died between its commit and its publication goes
out on the next tick. An event published twice (EventBridge took it, the mark was lost) keeps its event_id."""

from __future__ import annotations

from typing import Any

from trainforge.connection import NativeDatabase
from trainforge.notifications.events import entry_of
from trainforge.repository import outbox

PUT_EVENTS_LIMIT = 10  # entries per PutEvents call


def publish_batch(db: NativeDatabase, events_client: Any, bus_name: str, api_url: str | None = None) -> int:
    """Claim up to ten events, put them on the bus, mark those EventBridge took; the number published."""
    with db.transaction():
        rows = outbox.claim_unpublished(db, PUT_EVENTS_LIMIT)
        if not rows:
            return 0
        answer = events_client.put_events(Entries=[entry_of(row, bus_name, api_url) for row in rows])
        # per-entry results, in order: an entry with an ErrorCode stays unpublished for the next relay
        taken = [
            row["id"] for row, result in zip(rows, answer["Entries"], strict=True) if "EventId" in result
        ]
        outbox.mark_published(db, taken)
        return len(taken)


def publish_pending(
    db: NativeDatabase, events_client: Any, bus_name: str, api_url: str | None = None, max_batches: int = 20
) -> int:
    """Publish until the outbox is empty (or ``max_batches`` ran: the schedule takes the rest)."""
    published = 0
    if not outbox.any_unpublished(db):
        return 0
    for _ in range(max_batches):
        count = publish_batch(db, events_client, bus_name, api_url)
        published += count
        if count < PUT_EVENTS_LIMIT:
            break
    return published
