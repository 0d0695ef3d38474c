"""A training job as SageMaker takes it (the contract's ``SageMakerJobConfig``), and what a request still lacks
before it may be recorded."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, fields
from typing import Any

from trainforge.account.execution_roles import TRAINFORGE_TAG, is_trainforge_role
from trainforge.errors import Problem
from trainforge.inputs import is_storable_text
from trainforge.job_settings.channels import InputChannel, prefix_channels
from trainforge.job_settings.distribution import distribution_hyperparameters
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models.rows import JobRow
from trainforge.models.sagemaker_limits import DEFAULT_CHANNEL
from trainforge.models.training_settings import SageMakerSettings
from trainforge.s3_locations import s3_folder, s3_uri_problem
from trainforge.settings import Settings


@dataclass(kw_only=True)
class SageMakerJobConfig(SageMakerSettings):
    """Configuration for SageMaker training job.

    Its SageMaker settings are :class:`~trainforge.models.training_settings.SageMakerSettings` (declared once,
    with ``TrainingConfig``'s and the API's); beside them, where the job's data, code and role come from."""

    job_name: str
    role_arn: str
    image_uri: str
    input_data_s3_uri: str
    output_s3_uri: str
    channel_name: str = DEFAULT_CHANNEL
    # Named channels; empty means one channel, ``channel_name``, reading ``input_data_s3_uri``.
    channels: list[InputChannel] = field(default_factory=list)

    @classmethod
    def from_training_config(
        cls,
        config: TrainingConfig,
        *,
        input_data_s3_uri: str,
        output_s3_uri: str,
        role_arn: str,
        image_uri: str,
        channels: list[InputChannel] | None = None,
    ) -> SageMakerJobConfig:
        shared = {f.name: copy.deepcopy(getattr(config, f.name)) for f in fields(SageMakerSettings)}
        environment = dict(config.environment_variables)
        if config.entry_point:
            environment.setdefault("SAGEMAKER_PROGRAM", config.entry_point)
        return cls(
            **{
                **shared,
                # Distribution settings reach SageMaker as the SDK passes them: the toolkit's hyperparameters.
                "hyperparameters": {
                    **config.hyperparameters,
                    **distribution_hyperparameters(config.distribution, config.instance_type),
                },
                "environment_variables": environment,
                # A spot job always checkpoints, so an interruption resumes: beside its output unless it says
                # where.
                "checkpoint_s3_uri": config.checkpoint_s3_uri
                or (
                    f"{s3_folder(output_s3_uri)}{config.job_name}/checkpoints/"
                    if config.use_spot_instances
                    else None
                ),
            },
            job_name=config.job_name,
            role_arn=role_arn,
            image_uri=image_uri,
            input_data_s3_uri=input_data_s3_uri,
            output_s3_uri=output_s3_uri,
            channels=list(channels) if channels is not None else prefix_channels(config, input_data_s3_uri),
        )

    def input_channels(self) -> list[InputChannel]:
        return self.channels or [InputChannel(self.channel_name, self.input_data_s3_uri)]

    def to_sagemaker_config(self) -> dict[str, Any]:
        """Convert to SageMaker training job configuration (a complete ``CreateTrainingJob`` request)."""
        stopping: dict[str, int] = {"MaxRuntimeInSeconds": self.max_runtime_seconds}
        request: dict[str, Any] = {
            "TrainingJobName": self.job_name,
            "RoleArn": self.role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": self.image_uri,
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": d["Name"], "Regex": d["Regex"]} for d in self.metric_definitions
                ],
            },
            "InputDataConfig": [channel.to_sagemaker() for channel in self.input_channels()],
            "OutputDataConfig": {"S3OutputPath": self.output_s3_uri},
            "ResourceConfig": {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
                "VolumeSizeInGB": self.volume_size_gb,
            },
            "StoppingCondition": stopping,
            "HyperParameters": dict(self.hyperparameters),
            "Environment": dict(self.environment_variables),
            "EnableManagedSpotTraining": self.use_spot_instances,
            "Tags": [
                {"Key": k, "Value": v} for k, v in sorted({**self.tags, TRAINFORGE_TAG: "true"}.items())
            ],
        }
        if self.use_spot_instances and self.max_wait_seconds is not None:
            stopping["MaxWaitTimeInSeconds"] = self.max_wait_seconds
        if self.checkpoint_s3_uri:
            request["CheckpointConfig"] = {"S3Uri": self.checkpoint_s3_uri}
        resources = request["ResourceConfig"]
        if self.keep_alive_seconds is not None:
            resources["KeepAlivePeriodInSeconds"] = self.keep_alive_seconds
        if self.volume_kms_key_id:
            resources["VolumeKmsKeyId"] = self.volume_kms_key_id
        if self.output_kms_key_id:
            request["OutputDataConfig"]["KmsKeyId"] = self.output_kms_key_id
        if self.max_retry_attempts is not None:
            request["RetryStrategy"] = {"MaximumRetryAttempts": self.max_retry_attempts}
        if self.vpc_subnets and self.vpc_security_group_ids:
            request["VpcConfig"] = {
                "Subnets": list(self.vpc_subnets),
                "SecurityGroupIds": list(self.vpc_security_group_ids),
            }
        if self.enable_network_isolation:
            request["EnableNetworkIsolation"] = True
        if self.enable_inter_container_traffic_encryption:
            request["EnableInterContainerTrafficEncryption"] = True
        return request


def request_problems(request: SageMakerJobConfig, settings: Settings | None = None) -> list[Problem]:
    """What the assembled request still lacks (the parts that come from outside the user's config), and,
    given the settings, where a Trainforge execution role could not reach the data it is pointed at."""
    problems = []
    for name, value in (
        ("s3_input_uri", request.input_data_s3_uri),
        ("s3_output_uri", request.output_s3_uri),
    ):
        reason = s3_uri_problem(value)
        if reason:
            problems.append(Problem(name, reason))
    if not re.fullmatch(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+", request.role_arn or ""):
        problems.append(Problem("role_arn", "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"))
    if (
        not request.image_uri
        or len(request.image_uri) > 255
        or any(c.isspace() for c in request.image_uri)
        or not is_storable_text(request.image_uri)
    ):
        problems.append(Problem("image_uri", "must be a container image URI of at most 255 characters"))
    if problems or settings is None or not is_trainforge_role(request.role_arn, settings):
        return problems
    # Trainforge's roles may read only the dataset prefix and write only the output prefix: a job pointed
    # elsewhere would be accepted by SageMaker and then fail, billed, with AccessDenied.
    readable = f"s3://{settings.datasets_bucket}/{settings.dataset_prefix}"
    writable = f"s3://{settings.artifacts_bucket}/{settings.output_prefix}"
    if not request.input_data_s3_uri.startswith(readable):
        problems.append(
            Problem("s3_input_uri", f"the execution role may read training data only under {readable}")
        )
    if not request.output_s3_uri.startswith(writable):
        problems.append(
            Problem("s3_output_uri", f"the execution role may write output only under {writable}")
        )
    if request.checkpoint_s3_uri and not request.checkpoint_s3_uri.startswith(writable):
        problems.append(
            Problem("checkpoint_s3_uri", f"the execution role may write checkpoints only under {writable}")
        )
    return problems


def submission_differences(job: JobRow, submission: dict[str, Any]) -> list[str]:
    """The fields in which a repeated submission differs from the job already recorded (empty: the same)."""
    if job.origin != "trainforge" or job.config is None:
        return ["job_name"]  # a SageMaker job Trainforge did not start, or a rejected drop, holds the name
    differences = [
        name
        for name in ("job_name", "input_uri", "output_uri", "role_arn", "image_uri")
        if getattr(job, name) != submission[name]
    ]
    recorded, wanted = job.config, submission["config"]
    # A field added since the job was recorded reads as its default there, not as a difference.
    defaults = TrainingConfig(job_name=job.job_name).to_dict()
    differences += sorted(
        key
        for key in set(recorded) | set(wanted)
        if key != "job_name" and recorded.get(key, defaults.get(key)) != wanted.get(key, defaults.get(key))
    )
    return differences
