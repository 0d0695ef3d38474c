"""A submission checked end to end without submitting: the configuration and request as recording would check
them, the dataset and its channels as sending would resolve them, the image, the pool's headroom and the price.
Nothing is recorded, nothing is sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from trainforge import repository
from trainforge.aws import error_code
from trainforge.builds.images import parse_image_reference
from trainforge.capacity.admission import pool_of
from trainforge.capacity.prices import price_of
from trainforge.connection import Database
from trainforge.datasets.inputs import check_complete, dataset_channels, read_manifest
from trainforge.errors import (
    RetryableSubmissionError,
    SageMakerConfigurationError,
)
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.jobs.records import (
    checked_request,
    default_output_uri,
    team_input_problems,
    with_deployment_defaults,
)
from trainforge.models.rows import TeamRow
from trainforge.settings import Settings
from trainforge.teams.budgets import check_limits, projected_check


def dry_run(
    db: Database,
    settings: Settings,
    config: TrainingConfig,
    input_uri: str,
    *,
    output_uri: str | None,
    image_uri: str | None,
    s3: Any,
    ecr: Any,
    team: TeamRow | None = None,
    local_image: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """What submitting would do, or :class:`SageMakerConfigurationError` naming every problem (for a team's
    job, its limits and budget too: :class:`BudgetExceededError` when its ceiling would not fit now). What the
    request cannot see but the job would meet (its name already taken, its image missing) makes ``accepted``
    false, with the problems. ``local_image``: local mode's answer to "can a job run this image" (its builds
    record images there, not in ECR)."""
    config = with_deployment_defaults(config, settings)
    output = output_uri or default_output_uri(settings)
    image = image_uri or settings.default_image_uri
    more = team_input_problems(settings, team, input_uri) if team is not None else []
    request = checked_request(settings, config, input_uri, output, settings.execution_role_arn, image, more)
    if team is not None:
        check_limits(team, config.to_dict())
    channels = None
    source = read_manifest(s3, input_uri)
    if source is not None:
        try:
            check_complete(s3, input_uri, source, 0)
        except RetryableSubmissionError as exc:  # still arriving: a submission would wait; a dry run says so
            raise SageMakerConfigurationError(exc.message, field="dataset_uri") from exc
        channels = dataset_channels(s3, config, input_uri, output, source.manifest)
    described = (
        replace(request, channels=channels) if channels is not None else request
    ).to_sagemaker_config()
    pool = pool_of(config.instance_type, config.use_spot_instances)
    state = repository.pool_state(db, pool)
    price = price_of(db, settings.region, config.instance_type)
    if team is not None:
        projected_check(db, team, price.ceiling(config.to_dict()) if price else None)
    limit = state.limit if state else None
    in_use = state.in_use if state else 0
    waiting = state.waiting if state else 0
    checked_image = (
        local_image_check(local_image, image) if local_image else image_check(ecr, settings, image)
    )
    problems = []
    taken = repository.get_job_by_name(db, config.job_name)
    if taken is not None:
        problems.append(
            {
                "field": "job_name",
                "message": f"is taken by job {taken.id} ({taken.status}): choose another name",
            }
        )
    if checked_image["exists"] is False:
        problems.append({"field": "image_uri", "message": checked_image["detail"]})
    return {
        "valid": True,
        "accepted": not problems,
        "problems": problems,
        "job_name": config.job_name,
        "instance_type": config.instance_type,
        "instance_count": config.instance_count,
        "cost_ceiling_usd": float(ceiling)
        if price and (ceiling := price.ceiling(config.to_dict()))
        else None,
        "price": {"usd_per_hour": float(price.usd_per_hour), "source": price.source} if price else None,
        "capacity": {
            "pool": pool,
            "quota": state.quota if state else None,
            "quota_source": state.quota_source if state else None,
            "quota_read_at": state.quota_read_at.isoformat() if state and state.quota_read_at else None,
            "in_use": in_use,
            "limit": limit,
            "waiting": waiting,
            "would_wait": waiting > 0 or (limit is not None and in_use + config.instance_count > limit),
        },
        "image": checked_image,
        "channels": [c["ChannelName"] for c in described.get("InputDataConfig", [])],
    }


def local_image_check(runnable: Callable[[str], bool], image_uri: str) -> dict[str, Any]:
    if runnable(image_uri):
        return {"image_uri": image_uri, "exists": True, "detail": "a local build's image"}
    return {"image_uri": image_uri, "exists": False,
            "detail": "no local build made this image: build it first (trainforge build)"}  # fmt: skip


def image_check(ecr: Any, settings: Settings, image_uri: str) -> dict[str, Any]:
    """Whether the image is in this account's ECR (a tag or digest there); None when it cannot be told."""
    try:
        reference = parse_image_reference(image_uri)
    except SageMakerConfigurationError as exc:
        return {"image_uri": image_uri, "exists": False, "detail": exc.message}
    if ".dkr.ecr." not in reference.registry or not reference.registry.startswith(f"{settings.account_id}."):
        return {"image_uri": image_uri, "exists": None, "detail": "not in this account's ECR: not checked"}
    image_id = (
        {"imageDigest": reference.digest} if reference.digest else {"imageTag": reference.tag or "latest"}
    )
    try:
        found = ecr.describe_images(repositoryName=reference.repository, imageIds=[image_id])["imageDetails"]
    except Exception as exc:
        code = error_code(exc)
        if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return {
                "image_uri": image_uri,
                "exists": False,
                "detail": f"{code}: build it first (POST /builds)",
            }
        return {
            "image_uri": image_uri,
            "exists": None,
            "detail": f"could not be checked: {code or type(exc).__name__}",
        }
    return {"image_uri": image_uri, "exists": bool(found), "detail": "found in ECR"}
