"""A training job's settings, declared once: each field's type, default, limits and meaning.

- :class:`SageMakerSettings`: what SageMaker takes for a job (compute, stopping, spot, hyperparameters, metric
  definitions, environment, tags, warm pool, retries, network, encryption);
- :class:`TrainingSettings`: those, and what Trainforge adds (the job's name, image and entry point, where it
  runs, its channels, its place in the capacity queue, distribution).

Everything else derives from them: ``TrainingConfig`` (what a user asks for, with its rules) is a
``TrainingSettings``; the contract's ``SageMakerJobConfig`` is a ``SageMakerSettings`` plus where the job's data,
code and role come from; the stored form is ``TrainingConfig.to_dict()``; and the API's ``JobRequest`` is generated
from these fields (:func:`trainforge.models.api.jobs.request_fields`), each optional there (absent: the default).
A field's ``api`` metadata holds the limits and description the API states; its rules in words are
``TrainingConfig.problems()``'s.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field
from enum import StrEnum
from typing import Any

from trainforge.models.instance_types import TRAINING_INSTANCE_TYPES
from trainforge.models.sagemaker_limits import (
    JOB_NAME_PATTERN,
    KMS_KEY_PATTERN,
    MAX_CHANNELS,
    MAX_HYPERPARAMETERS,
    MAX_INSTANCE_COUNT,
    MAX_KEEP_ALIVE_SECONDS,
    MAX_METRIC_DEFINITIONS,
    MAX_PRIORITY,
    MAX_QUEUE_SECONDS,
    MAX_RETRY_ATTEMPTS,
    MAX_RUNTIME_LIMIT_SECONDS,
    MAX_SECURITY_GROUPS,
    MAX_SUBNETS,
    MAX_VOLUME_GB,
    MIN_PRIORITY,
    S3_LOCATION,
)


class TrainingEnvironment(StrEnum):
    """Where a training job runs."""

    SAGEMAKER = "sagemaker"
    LOCAL = "local"


def setting(default: Any = MISSING, *, factory: Any = MISSING, **api: Any) -> Any:
    """A field with its API metadata (pydantic ``Field`` arguments: limits, pattern, description, schema)."""
    if factory is not MISSING:
        return field(default_factory=factory, metadata={"api": api})
    return field(default=default, metadata={"api": api})


def api_metadata(declared: Field[Any]) -> dict[str, Any]:
    return dict(declared.metadata.get("api", {}))


@dataclass(kw_only=True)
class SageMakerSettings:
    """What SageMaker takes for a training job."""

    instance_type: str = setting(
        "ml.m5.large",
        description="an instance type SageMaker offers for training",
        json_schema_extra={"enum": sorted(TRAINING_INSTANCE_TYPES)},
    )
    instance_count: int = setting(
        1,
        ge=1,
        le=MAX_INSTANCE_COUNT,
        description="how many instances train together (more than 1: distributed)",
    )
    volume_size_gb: int = setting(
        30,
        ge=1,
        le=MAX_VOLUME_GB,
        description="each instance's storage volume, in GB (input files and /opt/ml)",
    )
    max_runtime_seconds: int = setting(
        24 * 3600,
        ge=1,
        le=MAX_RUNTIME_LIMIT_SECONDS,
        description="SageMaker stops the job after this long; it also bounds the cost ceiling",
    )
    use_spot_instances: bool = setting(
        False, description="managed spot training: cheaper, may be interrupted (set max_wait_seconds too)"
    )
    max_wait_seconds: int | None = setting(
        None,
        ge=1,
        le=MAX_RUNTIME_LIMIT_SECONDS,
        description="spot only: the longest to wait for spot capacity and run, at least max_runtime_seconds",
    )
    checkpoint_s3_uri: str | None = setting(
        None,
        max_length=1024,
        pattern=S3_LOCATION,
        description="where SageMaker syncs /opt/ml/checkpoints, so an interrupted spot job resumes",
    )
    hyperparameters: dict[str, str] = setting(
        factory=dict, description=f"at most {MAX_HYPERPARAMETERS}; numbers and booleans are sent as strings"
    )
    metric_definitions: list[dict[str, str]] = setting(
        factory=list,
        max_length=MAX_METRIC_DEFINITIONS,
        description="{Name, Regex} pairs: each log line the regex matches records a value of the metric "
        "(its first group)",
    )
    environment_variables: dict[str, str] = setting(
        factory=dict, description="set in the training container beside SageMaker's SM_* variables"
    )
    tags: dict[str, str] = setting(
        factory=dict,
        description="tags on the SageMaker training job (Trainforge adds its own trainforge:* tags)",
    )
    # SageMaker's own settings for the job: warm pool, retries, network and encryption.
    keep_alive_seconds: int | None = setting(
        None,
        ge=0,
        le=MAX_KEEP_ALIVE_SECONDS,
        description="SageMaker's KeepAlivePeriodInSeconds: keep the instances warm for a next job of the same "
        "configuration (a warm pool)",
    )
    max_retry_attempts: int | None = setting(
        None, ge=1, le=MAX_RETRY_ATTEMPTS, description="SageMaker's RetryStrategy.MaximumRetryAttempts"
    )
    vpc_subnets: list[str] | None = setting(
        None, min_length=1, max_length=MAX_SUBNETS, description="with vpc_security_group_ids: run in a VPC"
    )
    vpc_security_group_ids: list[str] | None = setting(
        None, min_length=1, max_length=MAX_SECURITY_GROUPS, description="with vpc_subnets: run in a VPC"
    )
    volume_kms_key_id: str | None = setting(
        None,
        pattern=KMS_KEY_PATTERN.pattern,
        description="KMS key that encrypts the instances' storage volumes",
    )
    output_kms_key_id: str | None = setting(
        None, pattern=KMS_KEY_PATTERN.pattern, description="KMS key that encrypts the model and output in S3"
    )
    enable_network_isolation: bool = setting(
        False,
        description="the container gets no network access (SageMaker still fetches input and writes output)",
    )
    enable_inter_container_traffic_encryption: bool = setting(
        False, description="encrypt traffic between the instances of a distributed job"
    )


@dataclass(kw_only=True)
class TrainingSettings(SageMakerSettings):
    """A training job as a user asks for it: SageMaker's settings and Trainforge's own."""

    job_name: str = setting(
        min_length=1,
        max_length=63,
        pattern=JOB_NAME_PATTERN.pattern,
        description="the SageMaker training job's name: unique in the account and region, used once",
    )
    image_uri: str | None = setting(
        None,
        min_length=1,
        max_length=255,
        pattern=r"^\S+$",
        description="the training image (trainforge build makes one); none: the deployment's default image",
    )
    entry_point: str | None = setting(
        None,
        min_length=1,
        max_length=256,
        description="the script the image runs (SageMaker's sagemaker_program); none: the image's own",
    )
    environment: TrainingEnvironment = setting(
        TrainingEnvironment.SAGEMAKER, description="sagemaker, or local: the job runs in local mode's runner"
    )
    # Named input channels: {name, s3_uri?, input_mode?, content_type?, compression?, distribution?}. A channel
    # without s3_uri takes its files from the job's dataset; none at all means the dataset's own channels.
    channels: list[dict[str, Any]] = setting(
        factory=list,
        max_length=MAX_CHANNELS,
        description="named input channels; none: the dataset's own (its sub-folders, or one 'training')",
    )
    # Waiting for capacity: higher priority is admitted first within an instance pool; a job waits at most
    # max_queue_seconds (None: the deployment's default; 0: never wait, fail when there is no room).
    priority: int = setting(
        0,
        ge=MIN_PRIORITY,
        le=MAX_PRIORITY,
        description="among jobs waiting for the same instances, higher is admitted first (default 0)",
    )
    max_queue_seconds: int | None = setting(
        None,
        ge=0,
        le=MAX_QUEUE_SECONDS,
        description="the longest the job may wait for capacity before it ends Failed (default: the "
        "deployment's, a day); 0: never wait",
    )
    # As the SDK's estimators take it: {"torch_distributed": {"enabled": true}} or {"mpi": {...}}.
    distribution: dict[str, Any] | None = setting(
        None, description='as the SDK takes it: {"torch_distributed": {"enabled": true}} or {"mpi": {...}}'
    )
