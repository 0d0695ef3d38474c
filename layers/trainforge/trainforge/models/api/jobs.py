"""The REST API's request and response shapes (pydantic), from which the OpenAPI document is generated, and
the statuses each operation can answer, with the error body every one of them sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints

from pydantic import ConfigDict, Field, create_model

from trainforge.models.api.activity import (
    ArtifactLink,
    JobArtifacts,
    JobMetrics,
    LogEvent,
    LogPage,
    MetricPoint,
)
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
from trainforge.models.api.capacity import (
    Capacity,
    DryRun,
    ImageCheck,
    Pool,
    PoolList,
    Price,
    Queue,
    WaitingJob,
    WarmPool,
)
from trainforge.models.api.teams import TEAM_FIELD, Caller, Team, TeamDefinition, TeamList, TeamUsage
from trainforge.models.rules import DATASET_NAME
from trainforge.models.sagemaker_limits import (
    CHANNEL_NAME_PATTERN,
    JOB_NAME_PATTERN,
    S3_LOCATION,
    VPC_ID_PATTERN,
)
from trainforge.models.training_settings import TrainingSettings, api_metadata

__all__ = [
    "ERROR_EXAMPLES",
    "ArtifactLink",
    "Build",
    "BuildPage",
    "BuildRequest",
    "Caller",
    "Capacity",
    "DryRun",
    "ErrorDetail",
    "ErrorResponse",
    "FieldProblem",
    "ImageCheck",
    "JobArtifacts",
    "JobMetrics",
    "LogEvent",
    "LogPage",
    "MetricPoint",
    "Model",
    "Pool",
    "PoolList",
    "Price",
    "Queue",
    "Strict",
    "Team",
    "TeamDefinition",
    "TeamList",
    "TeamUsage",
    "WaitingJob",
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
    name: str = Field(pattern=DATASET_NAME, description="the dataset's folder under the prefix")
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


class Dataset(Model):
    name: str
    dataset_uri: str = Field(description="what a job's dataset_uri names")
    complete: bool = Field(description="its manifest arrived (it is uploaded last): a job can read it")
    files: int
    bytes: int
    channels: list[str] = Field(description="SM_CHANNEL_<NAME> for each, in the container")
    training: dict[str, Any] | None = Field(
        description="the settings of the job its arrival starts (trainforge.json)"
    )
    uploaded_at: datetime | None = Field(description="when its manifest arrived")


class MetricDefinition(Strict):
    Name: str = Field(min_length=1, max_length=255, description="the metric's name, such as train:loss")
    Regex: str = Field(min_length=1, max_length=500, description="captures the value in a group")


class ChannelIn(Strict):
    name: str = Field(pattern=CHANNEL_NAME_PATTERN.pattern, description="SM_CHANNEL_<NAME> in the container")
    s3_uri: str | None = Field(
        default=None,
        max_length=1024,
        pattern=S3_LOCATION,
        description="where its data is; without it, the dataset's files of this channel",
    )
    input_mode: Literal["File", "FastFile", "Pipe"] | None = Field(
        default=None, description="how the container reads it (default File: copied to disk before training)"
    )
    content_type: str | None = Field(
        default=None, min_length=1, max_length=256, description="the data's MIME type, passed to the script"
    )
    compression: Literal["None", "Gzip"] | None = Field(
        default=None, description="Gzip: SageMaker decompresses it"
    )
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] | None = Field(
        default=None, description="every instance gets all files (default), or a share of them"
    )


def request_fields(
    settings: type, *, exclude: frozenset[str] = frozenset(), types: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The API's fields for a settings dataclass (:mod:`trainforge.models.training_settings`): each optional, None
    meaning its default (a field without a default stays required), with the limits and description its
    declaration gives. ``types``: the API's own type for a field (what JSON can say of it)."""
    hints = get_type_hints(settings)
    found: dict[str, Any] = {}
    for declared in fields(settings):
        if declared.name in exclude:
            continue
        kind = (types or {}).get(declared.name, hints[declared.name])
        required = declared.default is MISSING and declared.default_factory is MISSING
        limits = api_metadata(declared)
        found[declared.name] = (
            (kind, Field(**limits)) if required else (kind | None, Field(default=None, **limits))
        )
    return found


class JobRequestFields(Strict):
    """The request's own fields, beside the job's settings (which are generated into ``JobRequest``)."""

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

    team: str | None = TEAM_FIELD
    dataset_uri: str = Field(
        max_length=1024, pattern=S3_LOCATION, description="s3:// URI of the dataset (its folder)"
    )
    output_uri: str | None = Field(
        default=None,
        max_length=1024,
        pattern=S3_LOCATION,
        description="where the model and output go (under it, the job's name); none: the deployment's output prefix",
    )
    image_uri: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=r"^\S+$",
        description="the training image (trainforge build makes one); none: the deployment's default image",
    )
    reuse_warm_pool_of: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        pattern=JOB_NAME_PATTERN.pattern,
        description="a finished job whose warm pool is Available: this job starts on its kept instances",
    )


VpcId = Annotated[str, Field(pattern=VPC_ID_PATTERN.pattern)]
# What JSON can say of a setting, where the declaration's Python type is narrower than the request's.
JOB_REQUEST_TYPES: dict[str, Any] = {
    "hyperparameters": dict[str, str | int | float | bool],
    "metric_definitions": list[MetricDefinition],
    "channels": list[ChannelIn],
    "environment": Literal["sagemaker", "local"],
    "vpc_subnets": list[VpcId],
    "vpc_security_group_ids": list[VpcId],
}

if TYPE_CHECKING:
    JobRequest = JobRequestFields
else:
    # POST /jobs's body: the request's fields and every field of TrainingSettings (image_uri is the request's).
    JobRequest = create_model(
        "JobRequest",
        __base__=JobRequestFields,
        __module__=__name__,
        **request_fields(TrainingSettings, exclude=frozenset({"image_uri"}), types=JOB_REQUEST_TYPES),
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
