"""Container builds: their state changes (one statement each) and their listing, in plain SQL with bound
parameters (see :mod:`trainforge.repository.jobs`)."""

from __future__ import annotations

from typing import Any

from trainforge.connection import Database
from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.models.rows import BuildRow, columns
from trainforge.repository.paging import MAX_ID, MAX_PAGE_SIZE, decode_cursor, page_of

_BUILD = columns(BuildRow, "b")


def get_build(db: Database, build_row_id: int) -> BuildRow | None:
    if not 1 <= build_row_id <= MAX_ID:
        return None
    rows = db.rows(f"SELECT {_BUILD} FROM container_builds b WHERE b.id = :id", {"id": build_row_id})
    return BuildRow(**rows[0]) if rows else None


def list_builds(
    db: Database,
    *,
    cursor: str | None = None,
    limit: int = 50,
    team: str | None = None,
    tag: str | None = None,
    status: str | None = None,
) -> tuple[list[BuildRow], str | None]:
    """A page of builds, newest first; only ``team``'s, those of image ``tag``, or in ``status`` when given."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise SageMakerConfigurationError.from_problems(
            [Problem("limit", f"must be between 1 and {MAX_PAGE_SIZE}")]
        )
    params: dict[str, Any] = {"limit": limit + 1}
    conditions = []
    if team is not None:
        conditions.append("b.team = :team")
        params["team"] = team
    if tag is not None:  # the image URI's tag (the build records the URI, repository:tag)
        conditions.append("right(b.image_uri, length(:tag) + 1) = ':' || :tag")
        params["tag"] = tag
    if status is not None:
        conditions.append("b.status = :status")
        params["status"] = status
    if cursor:
        params["cursor_at"], params["cursor_id"] = decode_cursor(cursor)
        conditions.append(
            "(b.created_at, b.id) < (CAST(:cursor_at AS timestamptz), CAST(:cursor_id AS bigint))"
        )
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = [
        BuildRow(**row)
        for row in db.rows(
            f"SELECT {_BUILD} FROM container_builds b {where} ORDER BY b.created_at DESC, b.id DESC LIMIT :limit",
            params,
        )
    ]
    return page_of(rows, limit)
