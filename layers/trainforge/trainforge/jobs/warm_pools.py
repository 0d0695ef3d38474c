"""Reusing a warm pool: SageMaker starts a job on a finished job's kept instances when the new job matches what
they were set up with (instance type, count and volume, the volume's key, the network and its isolation) and
keeps a pool of its own. A job that asks to reuse one takes those settings from the finished job, or is refused
with why (no such job, its pool not Available, a setting that differs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from trainforge import repository
from trainforge.connection import Database
from trainforge.errors import Problem, SageMakerConfigurationError
from trainforge.job_settings.training_config import TrainingConfig

# What SageMaker matches a new job against a warm pool on (beyond the execution role, the deployment's own).
MATCHED = (
    "instance_type",
    "instance_count",
    "volume_size_gb",
    "volume_kms_key_id",
    "vpc_subnets",
    "vpc_security_group_ids",
    "enable_network_isolation",
    "enable_inter_container_traffic_encryption",
)
FIELD = "reuse_warm_pool_of"


def for_warm_pool(
    db: Database,
    config: TrainingConfig,
    source_name: str,
    stated: set[str],
    visible: Callable[[str | None], bool] | None = None,
) -> TrainingConfig:
    """``config`` set up to start on ``source_name``'s warm pool. ``stated``: the settings the request gave
    itself (each must agree with the pool's; the others are taken from it)."""
    source = repository.get_job_by_name(db, source_name)
    if source is None or (visible is not None and not visible(source.team)):
        raise SageMakerConfigurationError(f"{FIELD}: there is no job {source_name}", field=FIELD)
    status = (source.warm_pool or {}).get("status")
    if status != "Available":
        raise SageMakerConfigurationError(
            f"{FIELD}: {source_name}'s warm pool is {status or 'not kept (it set no keep_alive_seconds)'}: only "
            "an Available pool can be reused",
            field=FIELD,
        )
    recorded = dict(source.config or {"job_name": source_name})
    # What SageMaker reported of the job wins over what was asked (a job Trainforge did not start has only that).
    recorded.update(
        {
            k: v
            for k, v in (("instance_type", source.instance_type), ("instance_count", source.instance_count))
            if v
        }
    )
    theirs = TrainingConfig.from_dict(recorded)
    differing = [
        name for name in MATCHED if name in stated and getattr(config, name) != getattr(theirs, name)
    ]
    if differing:
        raise SageMakerConfigurationError.from_problems(
            [
                Problem(
                    name, f"differs from {source_name}'s warm pool ({getattr(theirs, name)!r}): leave it out"
                )
                for name in differing
            ],
            "warm pool reuse",
        )
    matched = {name: getattr(theirs, name) for name in MATCHED}
    # The new job keeps a pool too (SageMaker's condition for reuse), as long as the finished one's, if unstated.
    keep = config.keep_alive_seconds or theirs.keep_alive_seconds
    return replace(config, **matched, keep_alive_seconds=keep)
