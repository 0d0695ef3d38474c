"""SageMaker training: the service contract Trainforge implements.

Exceptions, job configuration, container builds (through CodeBuild, never a local Docker) and the training
service: validate the account's configuration, create the execution role, upload datasets, submit, follow,
cancel and list training jobs.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from trainforge import repository
from trainforge.aws import client as aws_client
from trainforge.aws import error_code, error_message
from trainforge.container_images import (
    BuildRequest,
    ImageReference,
    parse_image_reference,
    render_build_files,
    zip_build_source,
)
from trainforge.errors import (
    AwsRefusalError,
    DockerContainerError,
    InvalidJobConfigurationError,
    JobConflictError,
    JobNotFoundError,
    Problem,
    RetryableSubmissionError,
    RoleConflictError,
    SageMakerConfigurationError,
    SageMakerError,
    SageMakerJobError,
)
from trainforge.inputs import is_storable_text
from trainforge.models.changes import JobStateChange
from trainforge.models.database import TrainingJob, TrainingReport
from trainforge.models.status import JOB_STATUS_RANK, TERMINAL_RANK, JobStatus
from trainforge.pacing import Pacer
from trainforge.services.dataset_inputs import check_complete, dataset_channels, read_manifest
from trainforge.services.dataset_preparation import (
    MANIFEST_NAME,
    DatasetPreparationService,
    check_relative_path,
)
from trainforge.services.dataset_uploads import stored_sha256
from trainforge.services.input_channels import InputChannel, prefix_channels
from trainforge.services.job_tracking import answer_with, record_state_change, state_change_from_description
from trainforge.services.training_config import (
    DEFAULT_CHANNEL,
    TrainingConfig,
    TrainingEnvironment,
    s3_uri_problem,
)
from trainforge.settings import Settings

__all__ = [
    "DockerContainerError",
    "SageMakerConfigurationError",
    "SageMakerContainerBuilder",
    "SageMakerContainerBuilderInterface",
    "SageMakerError",
    "SageMakerJobConfig",
    "SageMakerJobConfigInterface",
    "SageMakerJobError",
    "SageMakerTrainingService",
    "SageMakerTrainingServiceInterface",
]

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
# SageMaker refused the job itself: retrying the same request cannot help.
REFUSAL_CODES = frozenset(
    {"ValidationException", "ResourceLimitExceeded", "AccessDeniedException", "AccessDenied"}
)
ROLE_PATH = "/trainforge/"  # the API may create roles only under this path (see the stack's policy)
ROLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
MULTIPART_THRESHOLD = 16 * 1024 * 1024
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
TRAINFORGE_TAG = "trainforge:managed"


@dataclass
class SageMakerJobConfig:
    """Configuration for SageMaker training job."""

    job_name: str
    role_arn: str
    image_uri: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    input_data_s3_uri: str
    output_s3_uri: str
    hyperparameters: dict[str, str] = field(default_factory=dict)
    environment_variables: dict[str, str] = field(default_factory=dict)
    metric_definitions: list[dict[str, str]] = field(default_factory=list)
    use_spot_instances: bool = False
    max_wait_seconds: int | None = None
    checkpoint_s3_uri: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
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
        environment = dict(config.environment_variables)
        if config.entry_point:
            environment.setdefault("SAGEMAKER_PROGRAM", config.entry_point)
        return cls(
            job_name=config.job_name,
            role_arn=role_arn,
            image_uri=image_uri,
            instance_type=config.instance_type,
            instance_count=config.instance_count,
            volume_size_gb=config.volume_size_gb,
            max_runtime_seconds=config.max_runtime_seconds,
            input_data_s3_uri=input_data_s3_uri,
            output_s3_uri=output_s3_uri,
            hyperparameters=dict(config.hyperparameters),
            environment_variables=environment,
            metric_definitions=[dict(d) for d in config.metric_definitions],
            use_spot_instances=config.use_spot_instances,
            max_wait_seconds=config.max_wait_seconds,
            checkpoint_s3_uri=config.checkpoint_s3_uri,
            tags=dict(config.tags),
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
        return request


@runtime_checkable
class SageMakerJobConfigInterface(Protocol):
    def to_sagemaker_config(self) -> dict[str, Any]: ...


@runtime_checkable
class SageMakerContainerBuilderInterface(Protocol):
    def build_training_container(self, base_image: str, tag: str) -> str: ...

    def push_to_ecr(self, image_tag: str, ecr_repository_uri: str) -> str: ...


@runtime_checkable
class SageMakerTrainingServiceInterface(Protocol):
    def validate_configuration(self) -> dict[str, Any]: ...

    def create_execution_role(self, role_name: str) -> str: ...

    def upload_training_data(
        self, dataset_folder: str, metadata_file: str, s3_bucket: str, s3_prefix: str
    ) -> str: ...

    def submit_training_job(
        self,
        config: TrainingConfig,
        s3_input_uri: str,
        s3_output_uri: str,
        role_arn: str,
        image_uri: str,
        db: Session,
    ) -> int: ...

    def get_job_status(self, job_id: int, db: Session) -> dict[str, Any]: ...

    def cancel_training_job(self, job_id: int, db: Session) -> bool: ...

    def list_training_jobs(self, db: Session) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class StartedBuild:
    build_id: str
    image_uri: str
    source_uri: str
    project_name: str
    base_image: str


class SageMakerContainerBuilder:
    """Builder for SageMaker training containers: CodeBuild builds and pushes, ECR's API copies images."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        source_dir: str | Path | None = None,
        entry_point: str = "train.py",
        codebuild_client: Any | None = None,
        s3_client: Any | None = None,
        ecr_client: Any | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.source_dir = Path(source_dir) if source_dir else None
        self.entry_point = entry_point
        self._codebuild = codebuild_client
        self._s3 = s3_client
        self._ecr = ecr_client
        self.last_build: StartedBuild | None = None

    @property
    def codebuild(self) -> Any:
        if self._codebuild is None:
            self._codebuild = aws_client("codebuild", self.settings.region)
        return self._codebuild

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = aws_client("s3", self.settings.region)
        return self._s3

    @property
    def ecr(self) -> Any:
        if self._ecr is None:
            self._ecr = aws_client("ecr", self.settings.region)
        return self._ecr

    def start_build(self, base_image: str, tag: str) -> StartedBuild:
        """Upload the generated build source and start a CodeBuild build; return what it will produce."""
        request = BuildRequest(
            base_image=base_image,
            tag=tag,
            repository_uri=self.settings.ecr_repository_uri,
            entry_point=self.entry_point,
            source_dir=self.source_dir,
        )
        try:
            files = render_build_files(request)
            archive, digest = zip_build_source(files, self.source_dir)
        except SageMakerConfigurationError as exc:
            raise DockerContainerError(exc.message, field=exc.field, problems=exc.problems) from None
        key = f"{self.settings.build_source_prefix}{digest}.zip"
        image_uri = f"{self.settings.ecr_repository_uri}:{tag}"
        try:
            self.s3.put_object(Bucket=self.settings.artifacts_bucket, Key=key, Body=archive)
            response = self.codebuild.start_build(
                projectName=self.settings.codebuild_project,
                sourceTypeOverride="S3",
                sourceLocationOverride=f"{self.settings.artifacts_bucket}/{key}",
                buildspecOverride=files["buildspec.yml"],
                environmentVariablesOverride=[
                    {"name": "IMAGE_URI", "value": image_uri, "type": "PLAINTEXT"},
                    {"name": "BASE_IMAGE", "value": base_image, "type": "PLAINTEXT"},
                ],
            )
        except Exception as exc:
            if not error_code(exc):
                raise
            raise DockerContainerError(
                f"CodeBuild could not start the image build: {error_code(exc)}: {error_message(exc)}. "
                f"Check that project {self.settings.codebuild_project!r} exists and the bucket "
                f"{self.settings.artifacts_bucket!r} is writable."
            ) from exc
        build = StartedBuild(
            build_id=response["build"]["id"],
            image_uri=image_uri,
            source_uri=f"s3://{self.settings.artifacts_bucket}/{key}",
            project_name=self.settings.codebuild_project,
            base_image=base_image,
        )
        self.last_build = build
        return build

    def build_training_container(self, base_image: str, tag: str) -> str:
        """Build Docker container for SageMaker training.

        Starts a CodeBuild build from a generated Dockerfile and buildspec and returns the image URI the build
        pushes to; the build's progress arrives as "CodeBuild Build State Change" events (see ``wait_for_build``).

        Raises:
            DockerContainerError: If container build fails to start
        """
        return self.start_build(base_image, tag).image_uri

    def wait_for_build(
        self, build_id: str, *, timeout_seconds: float = 3600, poll_seconds: float = 10
    ) -> dict[str, Any]:
        """Poll CodeBuild until the build ends; raise :class:`DockerContainerError` with its reason on failure."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            builds = self.codebuild.batch_get_builds(ids=[build_id]).get("builds") or []
            if not builds:
                raise DockerContainerError(f"CodeBuild knows no build {build_id!r}", field="build_id")
            build: dict[str, Any] = builds[0]
            status = build.get("buildStatus")
            if status == "SUCCEEDED":
                return build
            if status in ("FAILED", "FAULT", "STOPPED", "TIMED_OUT"):
                raise DockerContainerError(
                    f"image build {build_id} ended {status}: {build_failure_reason(build)}"
                )
            if time.monotonic() > deadline:
                raise DockerContainerError(
                    f"image build {build_id} did not finish within {timeout_seconds:.0f}s"
                )
            time.sleep(poll_seconds)

    def push_to_ecr(self, image_tag: str, ecr_repository_uri: str) -> str:
        """Push Docker image to Amazon ECR: copy an image already in ECR to another repository through ECR's API.

        Args:
            image_tag: the image to copy: ``tag`` (in Trainforge's repository), ``repo:tag`` or a full URI
            ecr_repository_uri: the target repository's URI

        Returns:
            Full ECR image URI

        Raises:
            DockerContainerError: If push fails
        """
        source = self._source_reference(image_tag)
        try:
            target = parse_image_reference(ecr_repository_uri, require_tag=False)
        except SageMakerConfigurationError as exc:
            raise DockerContainerError(exc.message, field="ecr_repository_uri") from None
        if target.registry != source.registry:
            raise DockerContainerError(
                f"cannot copy {source.uri} into another registry ({target.registry}) through the ECR API: "
                "set up ECR replication between the registries instead",
                field="ecr_repository_uri",
            )
        tag = source.tag or "latest"
        try:
            found = self.ecr.batch_get_image(
                repositoryName=source.repository,
                imageIds=[{"imageTag": tag}],
                acceptedMediaTypes=[
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                ],
            )
        except Exception as exc:
            if not error_code(exc):
                raise
            raise DockerContainerError(
                f"cannot read {source.uri}: {error_code(exc)}: {error_message(exc)}"
            ) from exc
        images = found.get("images") or []
        if not images:
            reason = (found.get("failures") or [{}])[0].get("failureReason", "image not found")
            raise DockerContainerError(f"cannot copy {source.uri}: {reason}", field="image_tag")
        image = images[0]
        put: dict[str, Any] = {
            "repositoryName": target.repository,
            "imageManifest": image["imageManifest"],
            "imageTag": tag,
        }
        if image.get("imageManifestMediaType"):
            put["imageManifestMediaType"] = image["imageManifestMediaType"]
        try:
            self.ecr.put_image(**put)
        except Exception as exc:
            code = error_code(exc)
            if code != "ImageAlreadyExistsException":
                if not code:
                    raise
                raise DockerContainerError(
                    f"cannot push to {target.repository_uri}: {code}: {error_message(exc)}"
                ) from exc
        return f"{target.repository_uri}:{tag}"

    def _source_reference(self, image_tag: str) -> ImageReference:
        default_repository = self.settings.ecr_repository_uri
        raw = image_tag if ("/" in image_tag or ":" in image_tag) else f"{default_repository}:{image_tag}"
        if "/" not in raw:  # "repo:tag" in Trainforge's registry
            registry = default_repository.split("/", 1)[0]
            raw = f"{registry}/{raw}"
        try:
            return parse_image_reference(raw, require_tag=True)
        except SageMakerConfigurationError as exc:
            raise DockerContainerError(exc.message, field="image_tag") from None


def build_failure_reason(build: dict[str, Any]) -> str:
    """The first failed phase's context message, the way the CodeBuild console shows it."""
    for phase in build.get("phases") or []:
        if phase.get("phaseStatus") in ("FAILED", "FAULT", "TIMED_OUT", "STOPPED"):
            contexts = phase.get("contexts") or []
            message = "; ".join(c.get("message", "") for c in contexts if c.get("message"))
            return f"phase {phase.get('phaseType')} {phase.get('phaseStatus')}: {message or 'no message'}"
    return str(build.get("buildStatus", "unknown"))


class SageMakerTrainingService:
    """Service for managing SageMaker training jobs."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sagemaker_client: Any | None = None,
        s3_client: Any | None = None,
        iam_client: Any | None = None,
        sts_client: Any | None = None,
        ecr_client: Any | None = None,
        quotas_client: Any | None = None,
        dataset_service: DatasetPreparationService | None = None,
        sleep: Callable[[float], None] = time.sleep,
        submit_timeout_seconds: float | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._clients: dict[str, Any] = {
            k: v
            for k, v in {
                "sagemaker": sagemaker_client,
                "s3": s3_client,
                "iam": iam_client,
                "sts": sts_client,
                "ecr": ecr_client,
                "service-quotas": quotas_client,
            }.items()
            if v is not None
        }
        self.datasets = dataset_service or DatasetPreparationService()
        self._sleep = sleep
        # Each process paces its own creates; the stack divides SageMaker's rate among the submission workers.
        self.pacer = pacer or Pacer(self.settings.sagemaker_create_rate)
        self.submit_timeout_seconds = (
            self.settings.sagemaker_submit_timeout_seconds
            if submit_timeout_seconds is None
            else submit_timeout_seconds
        )

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            found = aws_client(service, self.settings.region)
            self._clients[service] = found
        return found

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    # -- configuration ---------------------------------------------------------------------------------------

    def validate_configuration(self) -> dict[str, Any]:
        """Validate SageMaker configuration and permissions.

        Returns:
            ``{"valid": bool, "checks": [{"name", "ok", "detail", "fix"}, ...]}``; ``ok`` is None for a check
            that could not be made (it does not make the configuration invalid).
        """
        checks = [
            self._check_credentials(),
            self._check_role(),
            self._check_bucket("datasets_bucket", self.settings.datasets_bucket),
            self._check_bucket("artifacts_bucket", self.settings.artifacts_bucket),
            self._check_ecr_repository(),
            self._check_instance_quota(),
        ]
        return {"valid": all(c["ok"] is not False for c in checks), "checks": checks}

    @staticmethod
    def _check(name: str, ok: bool | None, detail: str, fix: str = "") -> dict[str, Any]:
        return {"name": name, "ok": ok, "detail": detail, "fix": fix if ok is not True else ""}

    def _check_credentials(self) -> dict[str, Any]:
        try:
            identity = self.client("sts").get_caller_identity()
        except Exception as exc:
            return self._check(
                "credentials", False, f"AWS credentials were not accepted: {error_message(exc)}",
                "configure credentials (aws configure, AWS_PROFILE or an instance role)",
            )  # fmt: skip
        return self._check("credentials", True, f"authenticated as {identity.get('Arn')}")

    def _check_role(self) -> dict[str, Any]:
        arn = self.settings.execution_role_arn
        name = arn.rsplit("/", 1)[-1]
        try:
            role = self.client("iam").get_role(RoleName=name)["Role"]
        except Exception as exc:
            return self._check(
                "execution_role", False, f"role {arn} cannot be read: {error_code(exc) or exc}",
                "create it with POST /roles (create_execution_role) or set TRAINFORGE_EXECUTION_ROLE_ARN",
            )  # fmt: skip
        policy = role.get("AssumeRolePolicyDocument") or {}
        if isinstance(policy, str):
            policy = json.loads(policy)
        if not trusts_sagemaker(policy):
            return self._check(
                "execution_role", False, f"role {arn} does not trust {SAGEMAKER_PRINCIPAL}",
                f"add {SAGEMAKER_PRINCIPAL} as a principal allowed sts:AssumeRole in the role's trust policy",
            )  # fmt: skip
        return self._check("execution_role", True, f"role {arn} exists and trusts {SAGEMAKER_PRINCIPAL}")

    def _check_bucket(self, name: str, bucket: str) -> dict[str, Any]:
        try:
            self.client("s3").head_bucket(Bucket=bucket)
        except Exception as exc:
            return self._check(
                name, False, f"bucket {bucket} is not reachable: {error_code(exc) or exc}",
                f"create the bucket or set TRAINFORGE_{name.upper()} to one this role can use",
            )  # fmt: skip
        return self._check(name, True, f"bucket {bucket} exists and is reachable")

    def _check_ecr_repository(self) -> dict[str, Any]:
        repository_name = self.settings.ecr_repository_name
        try:
            self.client("ecr").describe_repositories(repositoryNames=[repository_name])
        except Exception as exc:
            return self._check(
                "ecr_repository", False, f"repository {repository_name} is not reachable: {error_code(exc) or exc}",
                "deploy the Trainforge stack or set TRAINFORGE_ECR_REPOSITORY_URI",
            )  # fmt: skip
        return self._check("ecr_repository", True, f"repository {self.settings.ecr_repository_uri} exists")

    def _check_instance_quota(self) -> dict[str, Any]:
        instance = self.settings.default_instance_type
        wanted = f"{instance} for training job usage"
        try:
            paginator = self.client("service-quotas").get_paginator("list_service_quotas")
            for page in paginator.paginate(ServiceCode="sagemaker"):
                for quota in page.get("Quotas", []):
                    if quota.get("QuotaName") == wanted:
                        value = float(quota.get("Value", 0))
                        if value < 1:
                            return self._check(
                                "instance_quota", False, f"quota '{wanted}' is {value:g}",
                                "request an increase in Service Quotas (SageMaker) or choose another instance type",
                            )  # fmt: skip
                        return self._check("instance_quota", True, f"quota '{wanted}' is {value:g}")
        except Exception as exc:
            return self._check(
                "instance_quota", None, f"quotas could not be read: {error_code(exc) or exc}",
                "allow servicequotas:ListServiceQuotas to check quotas before submitting",
            )  # fmt: skip
        return self._check(
            "instance_quota", None, f"no quota named '{wanted}' was found; SageMaker enforces it at submission",
            "check Service Quotas for SageMaker in this region",
        )  # fmt: skip

    def create_execution_role(self, role_name: str) -> str:
        """Create IAM execution role for SageMaker training.

        The role trusts only SageMaker and may read the dataset prefix, write the output prefix, pull from
        Trainforge's ECR repository and write its logs and metrics. Calling it again for an existing role brings
        its policies up to date and returns its ARN.

        Raises:
            SageMakerConfigurationError: If role creation fails
        """
        if not isinstance(role_name, str) or not ROLE_NAME_PATTERN.fullmatch(role_name):
            raise SageMakerConfigurationError(
                "role name must be 1-64 characters of letters, digits and +=,.@_-", field="role_name"
            )
        iam = self.client("iam")
        trust = json.dumps(sagemaker_trust_policy())
        boundary = self.settings.role_permissions_boundary_arn
        try:
            arn = iam.create_role(
                RoleName=role_name,
                Path=ROLE_PATH,
                AssumeRolePolicyDocument=trust,
                Description="SageMaker training execution role created by Trainforge",
                Tags=[{"Key": TRAINFORGE_TAG, "Value": "true"}],
                **({"PermissionsBoundary": boundary} if boundary else {}),
            )["Role"]["Arn"]
        except Exception as exc:
            if error_code(exc) != "EntityAlreadyExists":
                raise _iam_refusal(exc, f"could not create role {role_name}") from exc
            arn = self._owned_role(role_name)["Arn"]
            try:
                iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
            except Exception as exc:
                raise _iam_refusal(exc, f"could not update the trust policy of role {role_name}") from exc
        try:
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName="trainforge-training-access",
                PolicyDocument=json.dumps(execution_role_policy(self.settings)),
            )
        except Exception as exc:
            raise _iam_refusal(exc, f"role {role_name} exists but its policy could not be set") from exc
        return str(arn)

    def _owned_role(self, role_name: str) -> dict[str, Any]:
        """The existing role, if Trainforge made it (its path and its tag); anything else is refused untouched."""
        refusal = (
            f"role {role_name} already exists and Trainforge did not create it (Trainforge's roles live under "
            f"the path {ROLE_PATH} with the tag {TRAINFORGE_TAG}); it is left untouched: choose another name"
        )
        try:
            role: dict[str, Any] = self.client("iam").get_role(RoleName=role_name)["Role"]
        except Exception as exc:
            if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
                # Trainforge may read only its own path: a role it cannot read is not its own.
                raise RoleConflictError(refusal, field="role_name") from exc
            raise _iam_refusal(exc, f"could not read role {role_name}") from exc
        tags = {t.get("Key"): t.get("Value") for t in role.get("Tags") or []}
        if role.get("Path") != ROLE_PATH or tags.get(TRAINFORGE_TAG) != "true":
            raise RoleConflictError(refusal, field="role_name")
        return role

    # -- datasets --------------------------------------------------------------------------------------------

    def upload_training_data(
        self,
        dataset_folder: str,
        metadata_file: str,
        s3_bucket: str,
        s3_prefix: str,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> str:
        """Upload training data to S3.

        Validates the folder against its metadata file, uploads every referenced file (multipart when large;
        a file already there with the same sha256 is skipped, so an interrupted upload resumes), then the
        metadata file, then the manifest: its arrival means the dataset is complete.

        Returns:
            S3 URI of uploaded data (``s3://bucket/prefix/``)

        Raises:
            SageMakerError: If upload fails (``DatasetValidationError`` listing every problem when invalid)
        """
        prefix = s3_prefix.strip("/")
        reason = check_relative_path(prefix)
        if reason:
            raise SageMakerConfigurationError(f"s3_prefix {reason}", field="s3_prefix")
        manifest = self.datasets.prepare(dataset_folder, metadata_file)
        from boto3.s3.transfer import TransferConfig

        transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
        )
        s3 = self.client("s3")
        folder = Path(dataset_folder)
        try:
            for entry in manifest.files:
                key = f"{prefix}/{entry.path}"
                if stored_sha256(s3, s3_bucket, key) == entry.sha256:
                    if progress:
                        progress(entry.path, entry.size)
                    continue
                callback = (lambda sent, path=entry.path: progress(path, sent)) if progress else None
                s3.upload_file(
                    str(folder / entry.path), s3_bucket, key,
                    ExtraArgs={"Metadata": {"sha256": entry.sha256}}, Config=transfer, Callback=callback,
                )  # fmt: skip
            s3.upload_file(
                str(metadata_file), s3_bucket, f"{prefix}/{manifest.metadata_file}", Config=transfer
            )
            s3.put_object(
                Bucket=s3_bucket,
                Key=f"{prefix}/{MANIFEST_NAME}",
                Body=manifest.to_json().encode(),
                ContentType="application/json",
            )
        except Exception as exc:
            if isinstance(exc, SageMakerError):
                raise
            raise SageMakerError(
                f"upload to s3://{s3_bucket}/{prefix}/ failed: {error_code(exc) or type(exc).__name__}: "
                f"{error_message(exc)}; run it again: files already uploaded are skipped"
            ) from exc
        return f"s3://{s3_bucket}/{prefix}/"

    # -- jobs ------------------------------------------------------------------------------------------------

    def record_training_job(
        self,
        config: TrainingConfig,
        s3_input_uri: str,
        s3_output_uri: str,
        role_arn: str,
        image_uri: str,
        db: Session,
        *,
        idempotency_key: str | None = None,
        source_uri: str | None = None,
    ) -> tuple[int, bool]:
        """Validate and record a job as Pending (committed); returns (id, created). Nothing is sent to SageMaker."""
        config.validate()
        request = SageMakerJobConfig.from_training_config(
            config,
            input_data_s3_uri=s3_input_uri,
            output_s3_uri=s3_output_uri,
            role_arn=role_arn,
            image_uri=image_uri,
        )
        problems = request_problems(request, self.settings)
        if idempotency_key is not None and not IDEMPOTENCY_KEY_PATTERN.fullmatch(idempotency_key):
            problems.append(Problem("idempotency_key", "must be 1-255 visible ASCII characters"))
        if problems:
            raise InvalidJobConfigurationError.from_problems(problems, "training job")
        submission = {
            "job_name": config.job_name,
            "config": config.to_dict(),
            "input_uri": s3_input_uri,
            "output_uri": s3_output_uri,
            "role_arn": role_arn,
            "image_uri": image_uri,
        }
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
            },
        )
        if created:
            repository.record_history(db, job_id, JobStatus.PENDING, None, None)
        else:
            existing = repository.get_job(db, job_id)
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
        db.commit()
        return job_id, created

    def submit_training_job(
        self,
        config: TrainingConfig,
        s3_input_uri: str,
        s3_output_uri: str,
        role_arn: str,
        image_uri: str,
        db: Session,
        *,
        idempotency_key: str | None = None,
    ) -> int:
        """Submit SageMaker training job.

        Records the job, submits it and returns its id. The same submission again (same job name or idempotency
        key) returns the same id and creates no second SageMaker job. Throttling is retried with backoff.

        Raises:
            SageMakerJobError: If job submission fails (the job is kept, marked Failed with SageMaker's reason)
        """
        job_id, _ = self.record_training_job(
            config, s3_input_uri, s3_output_uri, role_arn, image_uri, db, idempotency_key=idempotency_key
        )
        self.submit_pending_job(job_id, db)
        return job_id

    def submit_pending_job(self, job_id: int, db: Session) -> bool:
        """Send a recorded Pending job to SageMaker. True if this call sent it; False if it had already left.

        Raises :class:`RetryableSubmissionError` when SageMaker stays busy past the deadline (the job stays
        Pending, so a queue can deliver it again), :class:`SageMakerJobError` when SageMaker refuses it.
        """
        job = repository.get_job(db, job_id)
        if job is None:
            raise JobNotFoundError(f"no training job with id {job_id}", field="job_id")
        if job.status != JobStatus.PENDING:
            return False
        try:
            request = self._request_for(job)
        except RetryableSubmissionError:
            db.rollback()
            raise
        except SageMakerConfigurationError as exc:
            # Refused for good (the dataset never completed, a channel it lacks): never sent, and why is kept.
            repository.finish_before_running(db, job_id, JobStatus.REJECTED, exc.message[:4000])
            db.commit()
            raise InvalidJobConfigurationError(exc.message, problems=exc.problems) from exc
        try:
            arn = self._create_with_backoff(request)
        except RetryableSubmissionError:
            db.rollback()
            raise
        except SageMakerJobError as exc:
            repository.finish_before_running(db, job_id, JobStatus.FAILED, exc.message)
            db.commit()
            raise
        # A stand-in SageMaker (local mode) says what it runs differently; real SageMaker has nothing to say.
        unemulated = getattr(self.sagemaker, "unemulated", None)
        notes = list(unemulated(request)) if callable(unemulated) else []
        was_pending = repository.mark_submitted(db, job_id, arn, notes)
        db.commit()
        if not was_pending:
            db.refresh(job)
            if job.status == JobStatus.STOPPED:
                # Cancelled while SageMaker was accepting it: the job must not run unseen.
                self._stop_quietly(job.job_name)
        return True

    def _stop_quietly(self, job_name: str) -> None:
        try:
            self.sagemaker.stop_training_job(TrainingJobName=job_name)
        except Exception as exc:
            if error_code(exc) != "ValidationException":  # already ended: nothing to stop
                raise

    def _request_for(self, job: TrainingJob) -> dict[str, Any]:
        """The ``CreateTrainingJob`` request for a recorded job, its input resolved now (see dataset_inputs)."""
        config = TrainingConfig.from_dict(job.config or {})
        input_uri, output_uri = job.input_uri or "", job.output_uri or ""
        channels = None
        source = read_manifest(self.client("s3"), input_uri, job.source_uri) if input_uri else None
        if source is not None:
            check_complete(self.client("s3"), input_uri, source, self.settings.dataset_wait_seconds)
            channels = dataset_channels(self.client("s3"), config, input_uri, output_uri, source.manifest)
        return SageMakerJobConfig.from_training_config(
            config,
            input_data_s3_uri=input_uri,
            output_s3_uri=output_uri,
            role_arn=job.role_arn or self.settings.execution_role_arn,
            image_uri=job.image_uri or self.settings.default_image_uri,
            channels=channels,
        ).to_sagemaker_config()

    def _create_with_backoff(self, request: dict[str, Any]) -> str | None:
        deadline = time.monotonic() + self.submit_timeout_seconds
        delay = min(0.25, self.pacer.interval)  # a throttle usually means "a moment later", not "much later"
        while True:
            self.pacer.wait()
            try:
                return str(self.sagemaker.create_training_job(**request)["TrainingJobArn"])
            except Exception as exc:
                code = error_code(exc)
                if code == "ResourceInUse":
                    return self._existing_arn(request["TrainingJobName"])
                if code in REFUSAL_CODES:
                    raise SageMakerJobError(
                        f"SageMaker refused the job: {code}: {error_message(exc)}", field="config"
                    ) from exc
                if not code and not _is_transient_transport_error(exc):
                    raise
                wait = delay * (0.5 + random.random())  # noqa: S311 - jitter, not security
                if time.monotonic() + wait > deadline:
                    raise RetryableSubmissionError(
                        f"SageMaker is busy ({code or type(exc).__name__}); the job stays Pending and is retried"
                    ) from exc
                self._sleep(wait)
                delay = min(delay * 2, 8.0)

    def _existing_arn(self, job_name: str) -> str | None:
        try:
            return str(self.sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobArn"])
        except Exception:
            return None

    def describe(self, job_name: str) -> dict[str, Any] | None:
        """``DescribeTrainingJob``, or None when SageMaker does not know the job."""
        try:
            return dict(self.sagemaker.describe_training_job(TrainingJobName=job_name))
        except Exception as exc:
            if error_code(exc) in ("ValidationException", "ResourceNotFound"):
                return None
            raise

    def get_job_status(self, job_id: int, db: Session) -> dict[str, Any]:
        """Get status of SageMaker training job (with its report and status history)."""
        job = repository.get_job(db, job_id)
        if job is None:
            raise JobNotFoundError(f"no training job with id {job_id}", field="job_id")
        result = job_to_dict(job, repository.report_of(db, job.id))
        result["history"] = [
            {"status": h.status, "secondary_status": h.secondary_status or None, "at": _iso(h.at)}
            for h in repository.history_of(db, job.id)
        ]
        return result

    def cancel_training_job(self, job_id: int, db: Session) -> bool:
        """Cancel SageMaker training job. True if a stop was requested or the job never left; False (job
        untouched) if it had already finished."""
        job = repository.get_job(db, job_id)
        if job is None:
            raise JobNotFoundError(f"no training job with id {job_id}", field="job_id")
        if job.status_rank >= TERMINAL_RANK:
            return False
        if job.status == JobStatus.PENDING:
            changed = repository.finish_before_running(
                db, job_id, JobStatus.STOPPED, "cancelled before submission"
            )
            db.commit()
            if changed:
                return True
            db.refresh(job)
            return self.cancel_training_job(job_id, db) if job.status_rank < TERMINAL_RANK else False
        if job.status == JobStatus.STOPPING:
            return True
        description = self.describe(job.job_name)
        if description is not None and description.get("TrainingJobStatus") in (
            "Completed",
            "Failed",
            "Stopped",
        ):
            self.apply_description(db, description)
            db.commit()
            return False
        try:
            self.sagemaker.stop_training_job(TrainingJobName=job.job_name)
        except Exception as exc:
            code = error_code(exc)
            if code == "ValidationException":  # it finished between the describe and the stop
                latest = self.describe(job.job_name)
                if latest is not None:
                    self.apply_description(db, latest)
                    db.commit()
                return False
            raise SageMakerJobError(
                f"SageMaker could not stop {job.job_name}: {code or type(exc).__name__}: {error_message(exc)}"
            ) from exc
        repository.apply_job_state_change(
            db,
            JobStateChange(job_name=job.job_name, status=JobStatus.STOPPING, secondary_status="Stopping"),
            record_external=False,
        )
        db.commit()
        return True

    def apply_description(self, db: Session, description: dict[str, Any]) -> None:
        """Apply a ``DescribeTrainingJob`` answer through the same path as an event."""
        record_state_change(
            db,
            state_change_from_description(description),
            record_external=self.settings.record_external_jobs,
            describe=answer_with(description),
        )

    def list_training_jobs(
        self,
        db: Session,
        *,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """List SageMaker training jobs, newest first (one page; :meth:`list_training_jobs_page` gives the cursor)."""
        page: list[dict[str, Any]] = self.list_training_jobs_page(
            db,
            status=status,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
        )["jobs"]
        return page

    def list_training_jobs_page(
        self,
        db: Session,
        *,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
        job_name: str | None = None,
    ) -> dict[str, Any]:
        problems = []
        if status is not None and status not in JOB_STATUS_RANK:
            problems.append(Problem("status", f"must be one of {', '.join(JOB_STATUS_RANK)}"))
        for name, moment in (("created_after", created_after), ("created_before", created_before)):
            if moment is not None and not _in_utc_range(moment):
                problems.append(Problem(name, "must be a time between years 1 and 9999 in UTC"))
        if problems:
            raise SageMakerConfigurationError.from_problems(problems, "job listing")
        rows, next_cursor = repository.list_jobs(
            db,
            repository.JobFilters(
                status=status, created_after=created_after, created_before=created_before, job_name=job_name
            ),
            cursor=cursor,
            limit=limit,
        )
        return {"jobs": [job_to_dict(job, report) for job, report in rows], "next_cursor": next_cursor}


def _in_utc_range(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return True


def _iam_refusal(exc: Exception, doing: str) -> SageMakerConfigurationError:
    """IAM's answer as a contract error: the caller's input (422) or IAM refusing Trainforge itself (502)."""
    code = error_code(exc)
    if not code:
        raise exc
    message = f"{doing}: {code}: {error_message(exc)}"
    if code in ("InvalidInput", "ValidationError", "MalformedPolicyDocument", "LimitExceeded"):
        return SageMakerConfigurationError(message, field="role_name")
    return AwsRefusalError(message, field="role_name")


def _is_transient_transport_error(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, BotoConnectionError | HTTPClientError)


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


def submission_differences(job: TrainingJob, submission: dict[str, Any]) -> list[str]:
    """The fields in which a repeated submission differs from the job already recorded (empty: the same)."""
    if job.origin != "trainforge" or job.config is None:
        return ["job_name"]  # a SageMaker job Trainforge did not start, or a rejected drop, holds the name
    differences = [
        name
        for name in ("job_name", "input_uri", "output_uri", "role_arn", "image_uri")
        if getattr(job, name) != submission[name]
    ]
    recorded, wanted = job.config, submission["config"]
    differences += sorted(
        key
        for key in set(recorded) | set(wanted)
        if key != "job_name" and recorded.get(key) != wanted.get(key)
    )
    return differences


def is_trainforge_role(role_arn: str, settings: Settings) -> bool:
    """The configured execution role, or one created through ``create_execution_role`` (same policy)."""
    return role_arn == settings.execution_role_arn or f":role{ROLE_PATH}" in role_arn


def sagemaker_trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": SAGEMAKER_PRINCIPAL}, "Action": "sts:AssumeRole"}
        ],
    }


def trusts_sagemaker(policy: dict[str, Any]) -> bool:
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        services = (statement.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if "sts:AssumeRole" in actions and SAGEMAKER_PRINCIPAL in services:
            return True
    return False


def execution_role_policy(settings: Settings) -> dict[str, Any]:
    """Least privilege for a training job: its data, its output, its image, its logs and metrics."""
    datasets = f"arn:aws:s3:::{settings.datasets_bucket}"
    artifacts = f"arn:aws:s3:::{settings.artifacts_bucket}"
    account = settings.account_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadDatasets", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"{datasets}/{settings.dataset_prefix}*"]},
            {"Sid": "ListDatasets", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [datasets],
             "Condition": {"StringLike": {"s3:prefix": [f"{settings.dataset_prefix}*"]}}},
            {"Sid": "WriteOutput", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": [f"{artifacts}/{settings.output_prefix}*"]},
            {"Sid": "ListOutput", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [artifacts],
             "Condition": {"StringLike": {"s3:prefix": [f"{settings.output_prefix}*"]}}},
            {"Sid": "PullTrainingImage", "Effect": "Allow",
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
             "Resource": [f"arn:aws:ecr:{settings.region}:{account}:repository/{settings.ecr_repository_name}"]},
            {"Sid": "EcrToken", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]},
            {"Sid": "TrainingLogs", "Effect": "Allow",
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
             "Resource": [f"arn:aws:logs:{settings.region}:{account}:log-group:/aws/sagemaker/TrainingJobs*"]},
            {"Sid": "TrainingMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": ["*"],
             "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/TrainingJobs"]}}},
        ],
    }  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat()


def report_to_dict(report: TrainingReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "final_metrics": dict(report.final_metrics or {}),
        "model_artifacts_uri": report.model_artifacts_uri,
        "billable_seconds": report.billable_seconds,
        "training_seconds": report.training_seconds,
        "estimated_cost_usd": float(report.estimated_cost_usd)
        if report.estimated_cost_usd is not None
        else None,
    }


def job_to_dict(job: TrainingJob, report: TrainingReport | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_name": job.job_name,
        "status": job.status,
        "secondary_status": job.secondary_status,
        "failure_reason": job.failure_reason,
        "origin": job.origin,
        "environment": job.environment or TrainingEnvironment.SAGEMAKER.value,
        "instance_type": job.instance_type,
        "instance_count": job.instance_count,
        "image_uri": job.image_uri,
        "input_uri": job.input_uri,
        "output_uri": job.output_uri,
        "sagemaker_arn": job.sagemaker_arn,
        "notes": list(job.notes or []),
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "started_at": _iso(job.started_at),
        "ended_at": _iso(job.ended_at),
        "report": report_to_dict(report),
    }
