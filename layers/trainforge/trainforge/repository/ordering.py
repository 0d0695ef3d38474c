"""The one rule that makes state changes order-safe, as SQL for the upserts that apply them."""

from __future__ import annotations


def advances(row: str, time_column: str) -> str:
    """Whether the incoming row (``EXCLUDED``) moves the stored one (``row``) forward: a higher rank, or the same
    rank below terminal and a newer time. Evaluated on the row as locked, never on a snapshot: a concurrent
    delivery's change is seen."""
    return (
        f"(EXCLUDED.status_rank > {row}.status_rank OR (EXCLUDED.status_rank = {row}.status_rank AND "
        f"{row}.status_rank < :terminal_rank AND COALESCE(EXCLUDED.{time_column}, '-infinity') > "
        f"COALESCE({row}.{time_column}, '-infinity')))"
    )
