"""What local mode holds its saved emulator and SageMaker record against when it starts: the jobs and tuning
jobs the database follows as running on (local) SageMaker, the images of successful builds, and the recent
jobs' model artifacts and logs. Read only."""

from __future__ import annotations

from dataclasses import dataclass

from trainforge.connection import Database
from trainforge.models.status import TERMINAL_RANK


@dataclass(frozen=True)
class RunningJob:
    name: str
    arn: str | None


@dataclass(frozen=True)
class LocalFacts:
    jobs_running: list[RunningJob]
    tuning_jobs_running: list[RunningJob]
    built_images: list[str]  # image URIs of successful builds
    model_artifacts: list[tuple[str, str]]  # (job name, s3:// URI)
    jobs_with_logs: list[str]  # names of jobs that reached training


def local_facts(db: Database, limit: int = 200) -> LocalFacts:
    """The newest ``limit`` of each (a long-lived local database need not be read whole at every start)."""
    running = db.rows(
        "SELECT job_name, sagemaker_arn FROM training_jobs WHERE environment = 'local' AND status_rank > 0 "
        "AND status_rank < :terminal ORDER BY id DESC LIMIT :limit",
        {"terminal": TERMINAL_RANK, "limit": limit},
    )
    tuning = db.rows(
        "SELECT name, sagemaker_arn FROM tuning_jobs WHERE sagemaker_arn IS NOT NULL AND status_rank > 0 "
        "AND status_rank < :terminal ORDER BY id DESC LIMIT :limit",
        {"terminal": TERMINAL_RANK, "limit": limit},
    )
    images = db.rows(
        "SELECT image_uri FROM container_builds WHERE status = 'SUCCEEDED' AND image_uri IS NOT NULL "
        "ORDER BY id DESC LIMIT :limit",
        {"limit": limit},
    )
    artifacts = db.rows(
        "SELECT j.job_name, r.model_artifacts_uri FROM training_reports r JOIN training_jobs j ON j.id = r.job_id "
        "WHERE j.environment = 'local' AND r.model_artifacts_uri IS NOT NULL ORDER BY j.id DESC LIMIT :limit",
        {"limit": limit},
    )
    logged = db.rows(
        "SELECT job_name FROM training_jobs WHERE environment = 'local' AND started_at IS NOT NULL "
        "ORDER BY id DESC LIMIT :limit",
        {"limit": limit},
    )
    return LocalFacts(
        jobs_running=[RunningJob(r["job_name"], r["sagemaker_arn"]) for r in running],
        tuning_jobs_running=[RunningJob(r["name"], r["sagemaker_arn"]) for r in tuning],
        built_images=[r["image_uri"] for r in images],
        model_artifacts=[(r["job_name"], r["model_artifacts_uri"]) for r in artifacts],
        jobs_with_logs=[r["job_name"] for r in logged],
    )
