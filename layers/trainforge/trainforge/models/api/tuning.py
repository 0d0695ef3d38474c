"""The API's shapes for hyperparameter tuning jobs: the request (objective, ranges, strategy, limits, the trials'
training settings) and the tuning job with its trials, best first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, create_model

from trainforge.models.api.base import Model, Strict
from trainforge.models.api.jobs import JOB_REQUEST_TYPES, request_fields
from trainforge.models.api.teams import TEAM_FIELD
from trainforge.models.sagemaker_limits import (
    MAX_CATEGORICAL_VALUES,
    MAX_TUNING_PARALLEL_JOBS,
    MAX_TUNING_RANGES,
    MAX_TUNING_TRAINING_JOBS,
    S3_LOCATION,
    TUNING_JOB_NAME_PATTERN,
)
from trainforge.models.training_settings import TrainingSettings


class ParameterRangeIn(Strict):
    name: str = Field(
        min_length=1, max_length=256, pattern=r"^[\w.:-]+$", description="the hyperparameter it varies"
    )
    kind: Literal["continuous", "integer", "categorical"] = Field(
        description="continuous: any number between the bounds; integer: whole numbers; categorical: values"
    )
    min_value: float | None = Field(
        default=None, allow_inf_nan=False, description="continuous and integer ranges"
    )
    max_value: float | None = Field(
        default=None, allow_inf_nan=False, description="continuous and integer ranges"
    )
    scaling: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = Field(
        default="Auto", description="how values are spread between min_value and max_value"
    )
    values: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = Field(
        default=None, max_length=MAX_CATEGORICAL_VALUES, description="categorical ranges: the values to try"
    )


# Each trial's settings: a job's (the one declaration, trainforge.models.training_settings), without what a
# tuning job names for all of its trials or SageMaker decides for them.
NOT_A_TRIAL_SETTING = frozenset({"job_name", "image_uri", "priority", "max_queue_seconds"})
if TYPE_CHECKING:
    TrialSettings = dict[str, Any]
else:
    TrialSettings = create_model(
        "TrialSettings",
        __base__=Strict,
        __module__=__name__,
        **request_fields(TrainingSettings, exclude=NOT_A_TRIAL_SETTING, types=JOB_REQUEST_TYPES),
    )


class TuningRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tuning_job_name": "churn-lr-1",
                    "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
                    "objective_metric": "validation:accuracy",
                    "objective_type": "Maximize",
                    "strategy": "Random",
                    "max_jobs": 6,
                    "max_parallel_jobs": 2,
                    "parameter_ranges": [
                        {
                            "name": "lr",
                            "kind": "continuous",
                            "min_value": 0.001,
                            "max_value": 0.5,
                            "scaling": "Logarithmic",
                        },
                        {"name": "epochs", "kind": "integer", "min_value": 5, "max_value": 40},
                    ],
                    "training": {
                        "instance_type": "ml.m5.large",
                        "max_runtime_seconds": 1800,
                        "metric_definitions": [{"Name": "validation:accuracy", "Regex": "val_acc=([0-9.]+)"}],
                    },
                }
            ]
        },
    )

    tuning_job_name: str = Field(
        min_length=1,
        max_length=32,
        pattern=TUNING_JOB_NAME_PATTERN.pattern,
        description="SageMaker's name for it, used once; its trials are named after it",
    )
    team: str | None = TEAM_FIELD
    dataset_uri: str = Field(
        max_length=1024, pattern=S3_LOCATION, description="s3:// URI of the dataset every trial trains on"
    )
    output_uri: str | None = Field(
        default=None,
        max_length=1024,
        pattern=S3_LOCATION,
        description="where the trials' models go; none: the deployment's output prefix",
    )
    image_uri: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=r"^\S+$",
        description="the trials' training image; none: the deployment's default image",
    )
    objective_metric: str = Field(
        min_length=1, max_length=255, description="one of training.metric_definitions"
    )
    objective_type: Literal["Maximize", "Minimize"] = Field(
        default="Maximize", description="whether the best trial has the highest or the lowest objective"
    )
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = Field(
        default="Bayesian", description="how SageMaker picks each trial's hyperparameters"
    )
    max_jobs: int | None = Field(
        default=None, ge=1, le=MAX_TUNING_TRAINING_JOBS, description="Grid: omit (every combination)"
    )
    max_parallel_jobs: int = Field(
        default=1, ge=1, le=MAX_TUNING_PARALLEL_JOBS, description="trials that train at the same time"
    )
    early_stopping: Literal["Off", "Auto"] = Field(
        default="Off", description="Auto: SageMaker stops trials that fall behind the best"
    )
    random_seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="the same seed picks the same hyperparameters again"
    )
    parameter_ranges: list[ParameterRangeIn] = Field(
        min_length=1, max_length=MAX_TUNING_RANGES, description="the hyperparameters to tune and their ranges"
    )
    training: TrialSettings = Field(
        description="each trial's training settings, as POST /jobs takes them (without job_name, dataset_uri, "
        "output_uri, image_uri, priority, max_queue_seconds); its hyperparameters are the fixed ones"
    )


class Trial(Model):
    id: int
    job_name: str
    status: str
    secondary_status: str | None
    failure_reason: str | None
    objective_value: float | None = Field(description="the objective metric's final value")
    hyperparameters: dict[str, Any]
    created_at: str | None
    ended_at: str | None


class TuningJob(Model):
    id: int
    tuning_job_name: str
    status: str
    failure_reason: str | None
    team: str | None
    submitted_by: str | None
    sagemaker_arn: str | None
    strategy: str | None
    objective_metric: str
    objective_type: str
    max_jobs: int | None
    max_parallel_jobs: int | None
    training_counts: dict[str, int] = Field(description="SageMaker's TrainingJobStatusCounters")
    objective_counts: dict[str, int] = Field(description="SageMaker's ObjectiveStatusCounters")
    best_training_job: str | None
    best_objective_value: float | None
    created_at: str
    ended_at: str | None


class TuningJobStatus(TuningJob):
    trials: list[Trial] = Field(description="its training jobs, best first by the objective")


class TuningPage(Model):
    tuning_jobs: list[TuningJob]
    next_cursor: str | None


class TuningCancelResponse(Model):
    cancelled: bool
    tuning_job: TuningJobStatus
