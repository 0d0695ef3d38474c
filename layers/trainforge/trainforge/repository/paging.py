"""Keyset pages: opaque cursors over (created_at, id), newest first."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Protocol, TypeVar

from trainforge.errors import SageMakerConfigurationError

MAX_PAGE_SIZE = 200
MAX_ID = 2**63 - 1  # ids are bigint: anything beyond names no row (and must not reach the driver)


def encode_cursor(created_at: datetime, row_id: int) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, row_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SageMakerConfigurationError(
            "cursor is not one this API returned; pass next_cursor from the previous page", field="cursor"
        ) from None


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> int: ...


K = TypeVar("K", bound=Keyed)


def page_of(rows: list[K], limit: int) -> tuple[list[K], str | None]:
    """A page from ``limit + 1`` rows read newest first: the first ``limit``, and the cursor after the last when
    there was one more."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(page[-1].created_at, page[-1].id)
