"""The REST API's request and response shapes (pydantic), from which the OpenAPI document is generated, and
the statuses each operation can answer, with the error body every one of them sends."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from trainforge.models.api.activity import JobMetrics, LogEvent, LogPage, MetricPoint
from trainforge.models.api.base import (
    ERROR_EXAMPLES,
    ErrorDetail,
    ErrorResponse,
    FieldProblem,
    Model,
    Strict,
    responses,
)
from trainforge.models.api.builds import Build, BuildPage, BuildRequest
from trainforge.models.api.capacity import Capacity, DryRun, ImageCheck, Price, Queue, WarmPool
from trainforge.models.api.teams import TEAM_FIELD, Team, TeamDefinition, TeamList, TeamUsage
from trainforge.models.instance_types import TRAINING_INSTANCE_TYPES
from trainforge.models.sagemaker_limits import (
    CHANNEL_NAME_PATTERN,
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
    VPC_ID_PATTERN,
)

__all__ = [
    "ERROR_EXAMPLES",
    "Build",
    "BuildPage",
    "BuildRequest",
    "Capacity",
    "DryRun",
    "ErrorDetail",
    "ErrorResponse",
    "FieldProblem",
    "ImageCheck",
    "JobMetrics",
    "LogEvent",
    "LogPage",
    "MetricPoint",
    "Model",
    "Price",
    "Queue",
    "Strict",
    "Team",
    "TeamDefinition",
    "TeamList",
    "TeamUsage",
    "WarmPool",
    "responses",
]


class Health(Model):
    status: str
    database: bool
    version: str


class ConfigurationCheck(Model):
    name: str
    ok: bool | None
    detail: str
    fix: str


class ConfigurationReport(Model):
    valid: bool
    checks: list[ConfigurationCheck]


class RoleRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role_name": "trainforge-training"}]})

    role_name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+=,.@-]+$")


class RoleResponse(Model):
    role_arn: str


class DatasetFileIn(Strict):
    path: str = Field(min_length=1, max_length=900)
    channel: str | None = Field(
        default=None,
        pattern=CHANNEL_NAME_PATTERN.pattern,
        description="its input channel; by default its top folder (train/a.csv: train), else 'training'",
    )
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DatasetUploadRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "churn",
                    "metadata_file": "metadata.csv",
                    "files": [
                        {
                            "path": "train.csv",
                            "size": 5120,
                            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                        }
                    ],
                    "training": {"instance_type": "ml.m5.large", "hyperparameters": {"epochs": 10}},
                }
            ]
        }
    )

    team: str | None = TEAM_FIELD
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$", description="the dataset's folder under the prefix"
    )
    metadata_file: str = Field(min_length=1, max_length=255)
    files: list[DatasetFileIn] = Field(min_length=1, max_length=1000)
    training: dict[str, Any] | None = Field(
        default=None, description="settings for the job its arrival starts"
    )


class PresignedUpload(Model):
    path: str
    key: str
    url: str
    headers: dict[str, str] = Field(description="send these headers with the PUT")
    already_uploaded: bool = Field(description="an object with the same sha256 is there: skip it (resume)")


class ManifestUpload(Model):
    key: str
    url: str
    body: str = Field(description="upload this exact body last: its arrival means the dataset is complete")


class DatasetUploadResponse(Model):
    dataset_uri: str
    uploads: list[PresignedUpload]
    manifest: ManifestUpload
    expires_in_seconds: int


INSTANCE_TYPE_SCHEMA: dict[str, Any] = {"enum": sorted(TRAINING_INSTANCE_TYPES)}
S3_LOCATION = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"


class MetricDefinition(Strict):
    Name: str = Field(min_length=1, max_length=255)
    Regex: str = Field(min_length=1, max_length=500, description="captures the value in a group")


class ChannelIn(Strict):
    name: str = Field(pattern=CHANNEL_NAME_PATTERN.pattern, description="SM_CHANNEL_<NAME> in the container")
    s3_uri: str | None = Field(
        default=None,
        max_length=1024,
        pattern=S3_LOCATION,
        description="where its data is; without it, the dataset's files of this channel",
    )
    input_mode: Literal["File", "FastFile", "Pipe"] | None = None
    content_type: str | None = Field(default=None, min_length=1, max_length=256)
    compression: Literal["None", "Gzip"] | None = None
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] | None = None


class JobRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_name": "churn-1",
                    "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
                    "instance_type": "ml.m5.large",
                    "hyperparameters": {"epochs": 10, "learning_rate": 0.05},
                }
            ]
        }
    )

    job_name: str = Field(min_length=1, max_length=63, pattern=JOB_NAME_PATTERN.pattern)
    team: str | None = TEAM_FIELD
    dataset_uri: str = Field(
        max_length=1024, pattern=S3_LOCATION, description="s3:// URI of the dataset (its folder)"
    )
    output_uri: str | None = Field(default=None, max_length=1024, pattern=S3_LOCATION)
    image_uri: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^\S+$")
    instance_type: str | None = Field(
        default=None,
        description="an instance type SageMaker offers for training",
        json_schema_extra=INSTANCE_TYPE_SCHEMA,
    )
    instance_count: int | None = Field(default=None, ge=1, le=MAX_INSTANCE_COUNT)
    volume_size_gb: int | None = Field(default=None, ge=1, le=MAX_VOLUME_GB)
    max_runtime_seconds: int | None = Field(default=None, ge=1, le=MAX_RUNTIME_LIMIT_SECONDS)
    use_spot_instances: bool | None = None
    max_wait_seconds: int | None = Field(default=None, ge=1, le=MAX_RUNTIME_LIMIT_SECONDS)
    checkpoint_s3_uri: str | None = Field(default=None, max_length=1024, pattern=S3_LOCATION)
    hyperparameters: dict[str, str | int | float | bool] | None = Field(
        default=None, description=f"at most {MAX_HYPERPARAMETERS}; numbers and booleans are sent as strings"
    )
    metric_definitions: list[MetricDefinition] | None = Field(default=None, max_length=MAX_METRIC_DEFINITIONS)
    environment_variables: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    entry_point: str | None = Field(default=None, min_length=1, max_length=256)
    environment: Literal["sagemaker", "local"] | None = None
    channels: list[ChannelIn] | None = Field(
        default=None,
        max_length=MAX_CHANNELS,
        description="named input channels; none: the dataset's own (its sub-folders, or one 'training')",
    )
    priority: int | None = Field(
        default=None,
        ge=MIN_PRIORITY,
        le=MAX_PRIORITY,
        description="among jobs waiting for the same instances, higher is admitted first (default 0)",
    )
    max_queue_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_QUEUE_SECONDS,
        description="the longest the job may wait for capacity before it ends Failed (default: the "
        "deployment's, a day); 0: never wait",
    )
    keep_alive_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_KEEP_ALIVE_SECONDS,
        description="SageMaker's KeepAlivePeriodInSeconds: keep the instances warm for a next job of the same "
        "configuration (a warm pool)",
    )
    max_retry_attempts: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RETRY_ATTEMPTS,
        description="SageMaker's RetryStrategy.MaximumRetryAttempts",
    )
    vpc_subnets: list[Annotated[str, Field(pattern=VPC_ID_PATTERN.pattern)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SUBNETS,
        description="with vpc_security_group_ids: run in a VPC",
    )
    vpc_security_group_ids: list[Annotated[str, Field(pattern=VPC_ID_PATTERN.pattern)]] | None = Field(
        default=None, min_length=1, max_length=MAX_SECURITY_GROUPS
    )
    volume_kms_key_id: str | None = Field(default=None, pattern=KMS_KEY_PATTERN.pattern)
    output_kms_key_id: str | None = Field(default=None, pattern=KMS_KEY_PATTERN.pattern)
    enable_network_isolation: bool | None = None
    enable_inter_container_traffic_encryption: bool | None = None
    reuse_warm_pool_of: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        pattern=JOB_NAME_PATTERN.pattern,
        description="a finished job whose warm pool is Available: this job starts on its kept instances",
    )
    distribution: dict[str, Any] | None = Field(
        default=None,
        description='as the SDK takes it: {"torch_distributed": {"enabled": true}} or {"mpi": {...}}',
    )


class Report(Model):
    final_metrics: dict[str, float]
    model_artifacts_uri: str | None
    billable_seconds: int | None
    training_seconds: int | None
    estimated_cost_usd: float | None
    on_demand_equivalent_usd: float | None = Field(
        default=None, description="spot jobs: what their training seconds would have cost on demand"
    )
    spot_saving_usd: float | None = Field(
        default=None, description="spot jobs: the on-demand equivalent minus the estimated cost"
    )


class HistoryEntry(Model):
    status: str
    secondary_status: str | None
    at: str | None
    detail: str | None = Field(
        default=None, description="why, where the status needs it (what a job waits for)"
    )
    attempt: int = Field(default=1, description="1, then 2, 3... for the steps of SageMaker's retries")


class Job(Model):
    id: int
    job_name: str
    status: str
    secondary_status: str | None
    failure_reason: str | None
    origin: str
    environment: str
    instance_type: str | None
    instance_count: int | None
    image_uri: str | None
    input_uri: str | None
    output_uri: str | None
    sagemaker_arn: str | None
    notes: list[str] = Field(
        default_factory=list, description="what ran differently from SageMaker (local mode)"
    )
    log_tail: list[str] | None = Field(
        default=None, description="a failed job's last log lines (its traceback), from CloudWatch Logs"
    )
    created_at: str | None
    updated_at: str | None
    started_at: str | None
    ended_at: str | None
    report: Report | None
    team: str | None = Field(
        default=None, description="the team the job belongs to (None: an administrator's)"
    )
    submitted_by: str | None = Field(default=None, description="the IAM principal that submitted it")
    cost_ceiling_usd: float | None = Field(
        default=None,
        description="the most the job can cost, known before it runs: the hourly price of its instance type × "
        "its instance count × its max runtime (for spot, its max wait); null for an unpriced type or a job "
        "Trainforge did not submit",
    )
    price: Price | None = Field(default=None, description="the price the ceiling was projected with")
    priority: int = 0
    queue: Queue | None = Field(default=None, description="its place in the capacity queue, while it waits")
    warm_pool: WarmPool | None = Field(
        default=None, description="its kept instances, when it asked for a warm pool"
    )


class Progress(Model):
    furthest_step: str | None = Field(
        description="the last step it reached while running: Downloading, Training, ..."
    )
    trained_seconds: int | None = Field(
        description="from the start of its Training step to the next step or its end"
    )


class JobStatus(Job):
    history: list[HistoryEntry]
    progress: Progress | None = Field(default=None, description="how far the job got")


class JobPage(Model):
    jobs: list[Job]
    next_cursor: str | None


class CancelResponse(Model):
    cancelled: bool
    job: JobStatus
