"""A container build's status: Trainforge's own record and CodeBuild's events, merged in any order, the status
moving only forward (by rank, then the envelope's time)."""

from __future__ import annotations

from typing import Any

from trainforge.connection import Database
from trainforge.models.changes import BuildStateChange
from trainforge.models.status import BUILD_STATUS_RANK, TERMINAL_RANK
from trainforge.repository.ordering import advances

# Builds likewise: the status by rank and the envelope's time; the facts (image, base image, source, digest,
# logs) merged from every report, whether Trainforge's own record or CodeBuild's events came first.
_ADVANCES = advances("b", "last_event_at")


_APPLY_BUILD_STATE = f"""
WITH prior AS (
    SELECT status_rank, last_event_at FROM container_builds WHERE build_id = :build_id
), upserted AS (
INSERT INTO container_builds AS b (
    build_id, project_name, status, status_rank, current_phase, log_url, image_uri, image_digest,
    base_image, failure_reason, created_at, updated_at, last_event_at)
VALUES (:build_id, :project_name, :status, :rank, :current_phase, :log_url, :image_uri, :image_digest,
    :base_image, :failure_reason, COALESCE(CAST(:event_time AS timestamptz), now()), now(), :event_time)
ON CONFLICT (build_id) DO UPDATE SET
    status = CASE WHEN {_ADVANCES} THEN EXCLUDED.status ELSE b.status END,
    status_rank = CASE WHEN {_ADVANCES} THEN EXCLUDED.status_rank ELSE b.status_rank END,
    current_phase = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.current_phase, b.current_phase) ELSE COALESCE(b.current_phase, EXCLUDED.current_phase) END,
    failure_reason = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.failure_reason, b.failure_reason) ELSE COALESCE(b.failure_reason, EXCLUDED.failure_reason) END,
    last_event_at = CASE WHEN {_ADVANCES} THEN COALESCE(EXCLUDED.last_event_at, b.last_event_at) ELSE b.last_event_at END,
    updated_at = CASE WHEN {_ADVANCES} THEN now() ELSE b.updated_at END,
    log_url = COALESCE(EXCLUDED.log_url, b.log_url),
    image_uri = COALESCE(b.image_uri, EXCLUDED.image_uri),
    image_digest = COALESCE(b.image_digest, EXCLUDED.image_digest),
    base_image = COALESCE(b.base_image, EXCLUDED.base_image)
WHERE {_ADVANCES}
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


def apply_build_state_change(db: Database, change: BuildStateChange) -> bool:
    """Apply a CodeBuild state, once, in order (by status rank, then the envelope's time). True if it moved."""
    (row,) = db.rows(
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
    )
    return bool(row["applied"])


# Its CodeBuild events may have got there first: their status stays, and what only Trainforge knows (base
# image, source) is merged in.
_INSERT_BUILD = """
INSERT INTO container_builds AS b (
    build_id, project_name, base_image, image_uri, source_uri, status, status_rank, current_phase, log_url, team,
    submitted_by)
VALUES (:build_id, :project_name, :base_image, :image_uri, :source_uri, :status, :status_rank, :current_phase,
    :log_url, :team, :submitted_by)
ON CONFLICT (build_id) DO UPDATE SET
    team = COALESCE(b.team, EXCLUDED.team),
    submitted_by = COALESCE(b.submitted_by, EXCLUDED.submitted_by),
    base_image = COALESCE(b.base_image, EXCLUDED.base_image),
    image_uri = COALESCE(b.image_uri, EXCLUDED.image_uri),
    source_uri = COALESCE(b.source_uri, EXCLUDED.source_uri),
    created_at = LEAST(b.created_at, EXCLUDED.created_at)
RETURNING id
"""


_BUILD_FIELDS = (
    "build_id",
    "project_name",
    "base_image",
    "image_uri",
    "source_uri",
    "status",
    "status_rank",
    "current_phase",
    "log_url",
    "team",
    "submitted_by",
)


def insert_build(db: Database, values: dict[str, Any]) -> int:
    """Record a build Trainforge started."""
    unknown = set(values) - set(_BUILD_FIELDS)
    if unknown:
        raise TypeError(f"not a build column: {', '.join(sorted(unknown))}")
    (row,) = db.rows(_INSERT_BUILD, {name: values.get(name) for name in _BUILD_FIELDS})
    return int(row["id"])
