"""Container builds as Trainforge records them: started through CodeBuild, followed through its events."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from trainforge import repository
from trainforge.builds.builder import SageMakerContainerBuilder, StartedBuild
from trainforge.connection import Database
from trainforge.errors import BuildNotFoundError, Problem, SageMakerConfigurationError
from trainforge.inputs import check_relative_path, is_storable_text, storable
from trainforge.models.changes import BuildStateChange, parse_time
from trainforge.models.rows import BuildRow
from trainforge.models.status import BUILD_STATUS_RANK, BuildStatus

MAX_INLINE_SOURCE_BYTES = 1024 * 1024


def start_build(
    db: Database,
    builder: SageMakerContainerBuilder,
    *,
    base_image: str,
    tag: str,
    files: Mapping[str, str],
    entry_point: str = "train.py",
    team: str | None = None,
    submitted_by: str | None = None,
) -> tuple[int, StartedBuild]:
    """Write the training code to a scratch folder, start the CodeBuild build and record it as QUEUED."""
    problems = []
    total = 0
    for path, content in files.items():
        reason = check_relative_path(path)
        if reason:
            problems.append(Problem(f"files.{path}", reason))
        total += len(content.encode())
    if total > MAX_INLINE_SOURCE_BYTES:
        problems.append(Problem("files", "training code sent inline must be at most 1 MiB"))
    if files and entry_point not in files:
        problems.append(Problem("entry_point", f"{entry_point} is not among the files sent"))
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "container build")
    with tempfile.TemporaryDirectory(prefix="trainforge-build-") as scratch:
        root = Path(scratch)
        for path, content in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        builder.source_dir = root if files else None
        builder.entry_point = entry_point
        started = builder.start_build(base_image, tag)
    row_id = repository.insert_build(
        db,
        {
            "build_id": started.build_id,
            "project_name": started.project_name,
            "base_image": started.base_image,
            "image_uri": started.image_uri,
            "source_uri": started.source_uri,
            "status": BuildStatus.QUEUED,
            "status_rank": BUILD_STATUS_RANK[BuildStatus.QUEUED],
            "team": team,
            "submitted_by": submitted_by,
        },
    )
    db.commit()
    return row_id, started


def build_id_from(raw: str) -> str:
    """CodeBuild names a build ``project:uuid``; events carry it inside an ARN (``...:build/project:uuid``)."""
    return raw.split(":build/", 1)[1] if ":build/" in raw else raw


def foreign_build(change: BuildStateChange, project: str) -> str | None:
    """Why a build's event is not Trainforge's to record (another CodeBuild project's), or None. The rule that
    routes the events filters by project too; a rule edited, or an event sent by hand, must not add builds."""
    if change.project_name == project:
        return None
    return f"build {change.build_id} is of CodeBuild project {change.project_name!r}, not Trainforge's ({project!r})"


def build_change_from_event(event: Mapping[str, Any]) -> BuildStateChange:
    """A "CodeBuild Build State Change" event as a :class:`BuildStateChange`; raises naming what is missing."""
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise SageMakerConfigurationError("CodeBuild event has no detail", field="detail")
    status, project, build_arn = (
        detail.get("build-status"),
        detail.get("project-name"),
        detail.get("build-id"),
    )
    problems = []
    if not isinstance(status, str) or status not in BUILD_STATUS_RANK or status == BuildStatus.QUEUED:
        problems.append(
            Problem(
                "detail.build-status", "must be IN_PROGRESS, SUCCEEDED, FAILED, FAULT, TIMED_OUT or STOPPED"
            )
        )
    if not isinstance(project, str) or not project or not is_storable_text(project):
        problems.append(Problem("detail.project-name", "is required, as text PostgreSQL can store"))
    if not isinstance(build_arn, str) or not build_arn or not is_storable_text(build_arn):
        problems.append(Problem("detail.build-id", "is required, as text PostgreSQL can store"))
    event_time: datetime | None = None
    try:
        event_time = parse_time(event.get("time"))
    except (ValueError, OverflowError, OSError):
        problems.append(Problem("time", "must be an ISO 8601 time"))
    if problems:
        raise SageMakerConfigurationError.from_problems(problems, "build state change")
    info = _mapping(detail.get("additional-information"))
    variables = {
        v.get("name"): v.get("value")
        for v in _sequence(_mapping(info.get("environment")).get("environment-variables"))
        if isinstance(v, Mapping)
    }
    exported = {
        v.get("name"): v.get("value")
        for v in _sequence(info.get("exported-environment-variables"))
        if isinstance(v, Mapping)
    }
    return BuildStateChange(
        build_id=build_id_from(str(build_arn)),
        project_name=str(project),
        status=str(status),
        current_phase=_opt(detail.get("current-phase"), 32),
        log_url=_opt(_mapping(info.get("logs")).get("deep-link"), 2048),
        image_uri=_opt(variables.get("IMAGE_URI"), 1024),
        image_digest=_opt(exported.get("IMAGE_DIGEST"), 100),
        base_image=_opt(variables.get("BASE_IMAGE"), 512),
        failure_reason=_failure_reason(info) if status != BuildStatus.SUCCEEDED else None,
        event_time=event_time,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    """Events come from outside: a part that is not an object is treated as absent."""
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _opt(value: Any, limit: int) -> str | None:
    return storable(str(value))[:limit] if isinstance(value, str) and value else None


def _failure_reason(info: Mapping[str, Any]) -> str | None:
    for phase in info.get("phases") or []:
        if isinstance(phase, Mapping) and phase.get("phase-status") in (
            "FAILED",
            "FAULT",
            "TIMED_OUT",
            "STOPPED",
        ):
            context = "; ".join(str(c) for c in phase.get("phase-context") or [] if c)
            reason = f"phase {phase.get('phase-type')} {phase.get('phase-status')}: {context or 'no message'}"
            return storable(reason)[:4000]
    return None


def build_to_dict(build: BuildRow) -> dict[str, Any]:
    return {
        "id": build.id,
        "build_id": build.build_id,
        "project_name": build.project_name,
        "base_image": build.base_image,
        "image_uri": build.image_uri,
        "image_digest": build.image_digest,
        "status": build.status,
        "current_phase": build.current_phase,
        "log_url": build.log_url,
        "failure_reason": build.failure_reason,
        "created_at": build.created_at.isoformat() if build.created_at else None,
        "updated_at": build.updated_at.isoformat() if build.updated_at else None,
        "team": build.team,
    }


def get_build(
    db: Database, build_row_id: int, visible: Callable[[str | None], bool] | None = None
) -> dict[str, Any]:
    """The build; not found as well when ``visible`` says its team's builds are not the caller's."""
    build = repository.get_build(db, build_row_id)
    if build is None or (visible is not None and not visible(build.team)):
        raise BuildNotFoundError(f"no container build with id {build_row_id}", field="id")
    return build_to_dict(build)


def record_build_state_change(db: Database, change: BuildStateChange) -> bool:
    """Apply a CodeBuild state once and in order (the caller commits); True if the build moved."""
    return repository.apply_build_state_change(db, change)


def builds_page(
    db: Database,
    *,
    cursor: str | None = None,
    limit: int = 50,
    team: str | None = None,
    tag: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Container builds, newest first (only ``team``'s, of image ``tag`` or in ``status`` when given), and the
    next page's cursor."""
    builds, next_cursor = repository.list_builds(
        db, cursor=cursor, limit=limit, team=team, tag=tag, status=status
    )
    return {"builds": [build_to_dict(b) for b in builds], "next_cursor": next_cursor}
