"""Recording a job before it is sent (validated, idempotent, conflicts named), and the ``CreateTrainingJob``
request for a recorded job, its input resolved when it is sent."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trainforge import repository
from trainforge.capacity.admission import pool_of
from trainforge.capacity.prices import price_of
from trainforge.connection import Database
from trainforge.datasets.inputs import check_complete, dataset_channels, read_manifest
from trainforge.errors import BudgetExceededError, InvalidJobConfigurationError, JobConflictError, Problem
from trainforge.inputs import IDEMPOTENCY_KEY_PATTERN
from trainforge.job_settings.sagemaker_job import (
    SageMakerJobConfig,
    request_problems,
    submission_differences,
)
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models.rows import JobRow, TeamRow
from trainforge.settings import Settings
from trainforge.teams.budgets import check_limits, commit_ceiling


def with_deployment_defaults(config: TrainingConfig, settings: Settings) -> TrainingConfig:
    """The job as it will run: in the deployment's training subnets and security group when it names no VPC of
    its own (and the deployment has one)."""
    if config.vpc_subnets is None and config.vpc_security_group_ids is None and settings.training_subnets:
        return replace(
            config,
            vpc_subnets=list(settings.training_subnets),
            vpc_security_group_ids=list(settings.training_security_group_ids),
        )
    return config


def checked_request(
    settings: Settings,
    config: TrainingConfig,
    s3_input_uri: str,
    s3_output_uri: str,
    role_arn: str,
    image_uri: str,
    more_problems: list[Problem] | None = None,
) -> SageMakerJobConfig:
    """The job as SageMaker would take it, or :class:`InvalidJobConfigurationError` naming every problem (the
    configuration's, the request's, and ``more_problems``)."""
    config.validate()
    request = SageMakerJobConfig.from_training_config(
        config,
        input_data_s3_uri=s3_input_uri,
        output_s3_uri=s3_output_uri,
        role_arn=role_arn,
        image_uri=image_uri,
    )
    problems = [*request_problems(request, settings), *(more_problems or [])]
    if problems:
        raise InvalidJobConfigurationError.from_problems(problems, "training job")
    return request


def default_output_uri(settings: Settings) -> str:
    """Where a job's output goes when the request names no place: the artifacts bucket's output prefix."""
    return f"s3://{settings.artifacts_bucket}/{settings.output_prefix}"


def record_job(
    db: Database,
    settings: Settings,
    config: TrainingConfig,
    s3_input_uri: str,
    s3_output_uri: str,
    role_arn: str,
    image_uri: str,
    *,
    idempotency_key: str | None = None,
    source_uri: str | None = None,
    team: TeamRow | None = None,
    submitted_by: str | None = None,
) -> tuple[int, bool]:
    """Validate and record a job as Pending (committed); returns (id, created). Nothing is sent to SageMaker.
    A team's job must keep to its team's limits and read its team's datasets, and its projected ceiling is
    committed against the team's monthly budget (:class:`BudgetExceededError`: nothing is recorded)."""
    key_problems = []
    if idempotency_key is not None and not IDEMPOTENCY_KEY_PATTERN.fullmatch(idempotency_key):
        key_problems.append(Problem("idempotency_key", "must be 1-255 visible ASCII characters"))
    if team is not None:
        key_problems += team_input_problems(settings, team, s3_input_uri)
    checked_request(settings, config, s3_input_uri, s3_output_uri, role_arn, image_uri, key_problems)
    as_stored = config.to_dict()
    if team is not None:
        check_limits(team, as_stored)
    submission = {
        "job_name": config.job_name,
        "config": as_stored,
        "input_uri": s3_input_uri,
        "output_uri": s3_output_uri,
        "role_arn": role_arn,
        "image_uri": image_uri,
    }
    price = price_of(db, settings.region, config.instance_type)
    ceiling = price.ceiling(as_stored) if price else None
    job_id, created = repository.insert_pending_job(
        db,
        {
            **submission,
            "idempotency_key": idempotency_key,
            "origin": "trainforge",
            "environment": config.environment.value,
            "source_uri": source_uri,
            "instance_type": config.instance_type,
            "instance_count": config.instance_count,
            "priority": config.priority,
            "capacity_pool": pool_of(config.instance_type, config.use_spot_instances),
            "max_queue_seconds": (
                settings.max_queue_seconds if config.max_queue_seconds is None else config.max_queue_seconds
            ),
            "cost_ceiling_usd": ceiling,
            "price_per_hour_usd": price.usd_per_hour if price else None,
            "price_source": price.source[:200] if price else None,
            "team": team.name if team is not None else None,
            "submitted_by": submitted_by,
        },
    )
    if not created:
        existing = repository.get_job(db, job_id)
        if existing is not None and team is not None and existing.team != team.name:
            db.rollback()  # another team's job: say only that the name is taken
            raise JobConflictError(f"the job name {config.job_name} is taken: use another", field="job_name")
        differences = submission_differences(existing, submission) if existing else ["job_name"]
        if differences:
            db.rollback()
            raise JobConflictError(
                f"job {job_id} ({existing.job_name if existing else config.job_name}) was submitted with "
                f"the same {'idempotency key' if idempotency_key else 'job name'} but a different "
                f"{', '.join(differences)}: send the same request to get that job, or use a new "
                f"{'key' if idempotency_key else 'job name'} for a new job",
                problems=[Problem(name, "differs from the first submission") for name in differences],
            )
    elif team is not None:
        try:
            commit_ceiling(db, job_id, team, ceiling)
        except BudgetExceededError:
            repository.forget_job(db, job_id)
            db.commit()
            raise
    db.commit()
    return job_id, created


def team_input_problems(settings: Settings, team: TeamRow, s3_input_uri: str) -> list[Problem]:
    """A team's job reads only its team's datasets."""
    allowed = f"s3://{settings.datasets_bucket}/{settings.dataset_prefix}{team.name}/"
    if s3_input_uri.startswith(allowed):
        return []
    return [Problem("dataset_uri", f"team {team.name}'s jobs read only its datasets, under {allowed}")]


def accept_job_request(
    db: Database,
    settings: Settings,
    config: TrainingConfig,
    input_uri: str,
    *,
    output_uri: str | None = None,
    image_uri: str | None = None,
    idempotency_key: str | None = None,
    source_uri: str | None = None,
    team: TeamRow | None = None,
    submitted_by: str | None = None,
) -> tuple[int, bool]:
    """A job request from the API or an S3 drop, with Trainforge's defaults (the output prefix, the execution
    role, the default image), recorded as Pending; returns (id, created)."""
    return record_job(
        db,
        settings,
        with_deployment_defaults(config, settings),
        input_uri,
        output_uri or default_output_uri(settings),
        settings.execution_role_arn,
        image_uri or settings.default_image_uri,
        idempotency_key=idempotency_key,
        source_uri=source_uri,
        team=team,
        submitted_by=submitted_by,
    )


def request_for(job: JobRow, s3: Any, settings: Settings) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request for a recorded job, its input resolved now (see dataset_inputs)."""
    return training_request(
        TrainingConfig.from_dict(job.config or {}),
        job.input_uri or "",
        job.output_uri or "",
        job.role_arn or settings.execution_role_arn,
        job.image_uri or settings.default_image_uri,
        job.source_uri,
        s3,
        settings.dataset_wait_seconds,
    )


def training_request(
    config: TrainingConfig,
    input_uri: str,
    output_uri: str,
    role_arn: str,
    image_uri: str,
    source_uri: str | None,
    s3: Any,
    dataset_wait_seconds: float,
) -> dict[str, Any]:
    """``CreateTrainingJob``'s request for ``config``, a dataset's channels read from its manifest now (files
    still arriving within ``dataset_wait_seconds`` of it: :class:`DatasetIncompleteError`, retried)."""
    channels = None
    source = read_manifest(s3, input_uri, source_uri) if input_uri else None
    if source is not None:
        check_complete(s3, input_uri, source, dataset_wait_seconds)
        channels = dataset_channels(s3, config, input_uri, output_uri, source.manifest)
    return SageMakerJobConfig.from_training_config(
        config,
        input_data_s3_uri=input_uri,
        output_s3_uri=output_uri,
        role_arn=role_arn,
        image_uri=image_uri,
        channels=channels,
    ).to_sagemaker_config()
