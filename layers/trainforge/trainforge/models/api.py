"""The REST API's request and response shapes (pydantic), from which the OpenAPI document is generated."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    problems: list[dict[str, str]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    database: bool
    version: str


class ConfigurationCheck(BaseModel):
    name: str
    ok: bool | None
    detail: str
    fix: str


class ConfigurationReport(BaseModel):
    valid: bool
    checks: list[ConfigurationCheck]


class RoleRequest(Strict):
    role_name: str = Field(min_length=1, max_length=64, pattern=r"^[\w+=,.@-]+$")


class RoleResponse(BaseModel):
    role_arn: str


class DatasetFileIn(Strict):
    path: str = Field(min_length=1, max_length=900)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DatasetUploadRequest(Strict):
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$", description="the dataset's folder under the prefix"
    )
    metadata_file: str = Field(min_length=1, max_length=255)
    files: list[DatasetFileIn] = Field(min_length=1, max_length=1000)
    training: dict[str, Any] | None = Field(
        default=None, description="settings for the job its arrival starts"
    )


class PresignedUpload(BaseModel):
    path: str
    key: str
    url: str
    headers: dict[str, str] = Field(description="send these headers with the PUT")
    already_uploaded: bool = Field(description="an object with the same sha256 is there: skip it (resume)")


class ManifestUpload(BaseModel):
    key: str
    url: str
    body: str = Field(description="upload this exact body last: its arrival means the dataset is complete")


class DatasetUploadResponse(BaseModel):
    dataset_uri: str
    uploads: list[PresignedUpload]
    manifest: ManifestUpload
    expires_in_seconds: int


class JobRequest(Strict):
    job_name: str
    dataset_uri: str = Field(description="s3:// URI of the dataset (its folder)")
    output_uri: str | None = None
    image_uri: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    volume_size_gb: int | None = None
    max_runtime_seconds: int | None = None
    use_spot_instances: bool | None = None
    max_wait_seconds: int | None = None
    checkpoint_s3_uri: str | None = None
    hyperparameters: dict[str, str | int | float | bool] | None = None
    metric_definitions: list[dict[str, str]] | None = None
    environment_variables: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    entry_point: str | None = None
    environment: str | None = None


class Report(BaseModel):
    final_metrics: dict[str, float]
    model_artifacts_uri: str | None
    billable_seconds: int | None
    training_seconds: int | None
    estimated_cost_usd: float | None


class HistoryEntry(BaseModel):
    status: str
    secondary_status: str | None
    at: str | None


class Job(BaseModel):
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
    created_at: str | None
    updated_at: str | None
    started_at: str | None
    ended_at: str | None
    report: Report | None


class JobStatus(Job):
    history: list[HistoryEntry]


class JobPage(BaseModel):
    jobs: list[Job]
    next_cursor: str | None


class CancelResponse(BaseModel):
    cancelled: bool
    job: JobStatus


class BuildRequest(Strict):
    base_image: str = Field(min_length=1, max_length=512)
    tag: str = Field(min_length=1, max_length=128)
    entry_point: str = "train.py"
    files: dict[str, str] = Field(default_factory=dict, description="training code, path to text content")


class Build(BaseModel):
    id: int
    build_id: str
    project_name: str
    base_image: str | None
    image_uri: str | None
    image_digest: str | None
    status: str
    current_phase: str | None
    log_url: str | None
    failure_reason: str | None
    created_at: str | None
    updated_at: str | None


class BuildPage(BaseModel):
    builds: list[Build]
    next_cursor: str | None
