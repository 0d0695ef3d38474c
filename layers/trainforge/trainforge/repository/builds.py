"""Container builds: their state changes (one conditional statement each) and their listing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.models.changes import BuildStateChange
from trainforge.models.database import ContainerBuild
from trainforge.models.status import (
    BUILD_STATUS_RANK,
    TERMINAL_RANK,
)
from trainforge.repository.paging import MAX_ID, MAX_PAGE_SIZE, decode_cursor, encode_cursor

# Builds likewise: the status by rank and the envelope's time; the facts (image, base image, source, digest,
# logs) merged from every report, whether Trainforge's own record or CodeBuild's events came first.
_APPLY_BUILD_STATE = text(
    """
WITH prior AS (
    SELECT status_rank, last_event_at FROM container_builds WHERE build_id = :build_id
), upserted AS (
INSERT INTO container_builds AS b (
    build_id, project_name, status, status_rank, current_phase, log_url, image_uri, image_digest,
    base_image, failure_reason, created_at, updated_at, last_event_at)
VALUES (:build_id, :project_name, :status, :rank, :current_phase, :log_url, :image_uri, :image_digest,
    :base_image, :failure_reason, COALESCE(CAST(:event_time AS timestamptz), now()), now(), :event_time)
ON CONFLICT (build_id) DO UPDATE SET
    status = CASE WHEN (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity'))) THEN EXCLUDED.status ELSE b.status END,
    status_rank = CASE WHEN (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity'))) THEN EXCLUDED.status_rank ELSE b.status_rank END,
    current_phase = CASE WHEN (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity'))) THEN COALESCE(EXCLUDED.current_phase, b.current_phase) ELSE COALESCE(b.current_phase, EXCLUDED.current_phase) END,
    failure_reason = CASE WHEN (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity'))) THEN COALESCE(EXCLUDED.failure_reason, b.failure_reason) ELSE COALESCE(b.failure_reason, EXCLUDED.failure_reason) END,
    last_event_at = CASE WHEN (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity'))) THEN COALESCE(EXCLUDED.last_event_at, b.last_event_at) ELSE b.last_event_at END,
    updated_at = CASE WHEN (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity'))) THEN now() ELSE b.updated_at END,
    log_url = COALESCE(EXCLUDED.log_url, b.log_url),
    image_uri = COALESCE(b.image_uri, EXCLUDED.image_uri),
    image_digest = COALESCE(b.image_digest, EXCLUDED.image_digest),
    base_image = COALESCE(b.base_image, EXCLUDED.base_image)
WHERE (EXCLUDED.status_rank > b.status_rank OR (EXCLUDED.status_rank = b.status_rank AND b.status_rank < :terminal_rank AND COALESCE(EXCLUDED.last_event_at, '-infinity') > COALESCE(b.last_event_at, '-infinity')))
   OR (b.log_url IS NULL AND EXCLUDED.log_url IS NOT NULL)
   OR (b.image_uri IS NULL AND EXCLUDED.image_uri IS NOT NULL)
   OR (b.image_digest IS NULL AND EXCLUDED.image_digest IS NOT NULL)
   OR (b.base_image IS NULL AND EXCLUDED.base_image IS NOT NULL)
RETURNING b.id, (b.xmax = 0) AS created, b.status_rank, b.last_event_at
)
SELECT EXISTS (
    SELECT 1 FROM upserted u
    WHERE u.created OR NOT EXISTS (
        SELECT 1 FROM prior p WHERE p.status_rank = u.status_rank
            AND p.last_event_at IS NOT DISTINCT FROM u.last_event_at)
) AS applied
"""
)


def apply_build_state_change(db: Session, change: BuildStateChange) -> bool:
    """Apply a CodeBuild state, once, in order (by status rank, then the envelope's time). True if it moved."""
    row = db.execute(
        _APPLY_BUILD_STATE,
        {
            "build_id": change.build_id,
            "project_name": change.project_name,
            "status": change.status,
            "rank": BUILD_STATUS_RANK[change.status],
            "terminal_rank": TERMINAL_RANK,
            "current_phase": change.current_phase,
            "log_url": change.log_url,
            "image_uri": change.image_uri,
            "image_digest": change.image_digest,
            "base_image": change.base_image,
            "failure_reason": change.failure_reason,
            "event_time": change.event_time,
        },
    ).one()
    return bool(row.applied)


def insert_build(db: Session, values: dict[str, Any]) -> int:
    """Record a build Trainforge started. Its CodeBuild events may have got there first: their status stays,
    and what only Trainforge knows (base image, source) is merged in."""
    statement = pg_insert(ContainerBuild).values(**values)
    merged = {
        name: func.coalesce(getattr(ContainerBuild, name), getattr(statement.excluded, name))
        for name in ("base_image", "image_uri", "source_uri")
    }
    upsert = statement.on_conflict_do_update(
        index_elements=[ContainerBuild.build_id],
        set_={**merged, "created_at": func.least(ContainerBuild.created_at, statement.excluded.created_at)},
    ).returning(ContainerBuild.id)
    return int(db.execute(upsert).scalar_one())


def get_build(db: Session, build_row_id: int) -> ContainerBuild | None:
    if not 1 <= build_row_id <= MAX_ID:
        return None
    return db.get(ContainerBuild, build_row_id)


def list_builds(
    db: Session, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[ContainerBuild], str | None]:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise SageMakerConfigurationError.from_problems(
            [Problem("limit", f"must be between 1 and {MAX_PAGE_SIZE}")]
        )
    query = select(ContainerBuild)
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(tuple_(ContainerBuild.created_at, ContainerBuild.id) < tuple_(created_at, row_id))
    rows = list(
        db.scalars(
            query.order_by(ContainerBuild.created_at.desc(), ContainerBuild.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor
