"""Trainforge settings: read once from the environment, typed, validated at start-up.

Every setting is an environment variable. In ``local`` mode (the default outside Lambda) each has a default that
works against the local emulators; in ``aws`` mode (the default inside Lambda, and what the CDK app sets) the
settings that name real resources are required and a missing one fails at start with its name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from trainforge.models.team_definitions import member_problem

Mode = Literal["aws", "local"]

LOCAL_ACCOUNT_ID = "123456789012"
# Local mode's caller when a request names none (the local API server's "developer"): an administrator.
LOCAL_ADMIN_PRINCIPAL = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/local-developer"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if value.startswith("/") or ".." in value.split("/"):
        raise SettingsError(f"{name} must be a relative S3 prefix without '..', got {value!r}")
    return value if value.endswith("/") else value + "/"


def parse_quotas(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    """``ml.m5.large=2,ml.g5.xlarge=1`` (a ``/spot`` suffix names the spot quota)."""
    raw = (env.get(name) or "").strip()
    found: list[tuple[str, int]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        pool, _, count = item.partition("=")
        if not pool.startswith("ml.") or not count.strip().isdigit():
            raise SettingsError(f"{name} must look like ml.m5.large=2,ml.g5.xlarge=1, got {raw!r}")
        found.append((pool.strip(), int(count)))
    return tuple(found)


def parse_ids(env: Mapping[str, str], name: str, prefix: str) -> tuple[str, ...]:
    """Comma-separated VPC resource ids (``subnet-…``, ``sg-…``); empty when unset."""
    found = tuple(filter(None, (part.strip() for part in (env.get(name) or "").split(","))))
    for item in found:
        if not item.startswith(prefix) or not item.replace("-", "").isalnum() or len(item) > 32:
            raise SettingsError(f"{name} must list {prefix}… ids separated by commas, got {item!r}")
    return found


def parse_principals(env: Mapping[str, str], name: str, local_default: str | None) -> tuple[str, ...]:
    """Comma-separated IAM principal patterns; required outside local mode (``local_default`` is None)."""
    raw = env.get(name) or local_default
    if not raw:
        raise SettingsError(
            f"{name} is required when TRAINFORGE_MODE is 'aws' (the administrators' role ARN)"
        )
    found = tuple(filter(None, (part.strip() for part in raw.split(","))))
    for pattern in found:
        why = member_problem(pattern)
        if why:
            raise SettingsError(f"{name}: {pattern!r} {why}")
    return found


@dataclass(frozen=True)
class Settings:
    """Typed view of the environment. Build it with :meth:`from_env`."""

    mode: Mode
    region: str
    database_url: str | None
    database_secret_arn: str | None
    database_ca_bundle: str | None
    database_host: str | None
    database_timeout_seconds: float
    datasets_bucket: str
    artifacts_bucket: str
    dataset_prefix: str
    jobs_prefix: str
    output_prefix: str
    build_source_prefix: str
    execution_role_arn: str
    ecr_repository_uri: str
    codebuild_project: str
    default_image_uri: str
    default_instance_type: str
    training_environment: str
    record_external_jobs: bool
    reconcile_after_minutes: float
    allow_unauthenticated: bool
    sagemaker_submit_timeout_seconds: float
    local_work_dir: str
    event_bus_name: str
    role_permissions_boundary_arn: str | None
    sagemaker_create_rate: float
    dead_letter_queue_url: str | None
    public_api_url: str | None = None  # the API's base URL as its users reach it: events link to their job
    dataset_wait_seconds: float = 900.0
    # How long a job may wait for capacity unless it says otherwise (max_queue_seconds).
    max_queue_seconds: int = 86400
    # Local mode's SageMaker stand-in enforces these per-instance-type quotas, as an account's would.
    local_instance_quotas: tuple[tuple[str, int], ...] = ()
    # Who administers teams and sees every job: IAM principal patterns (see trainforge.models.team_definitions).
    admin_principals: tuple[str, ...] = ()
    # The deployment's network for training jobs that name none (the stack's private subnets and security group).
    training_subnets: tuple[str, ...] = ()
    training_security_group_ids: tuple[str, ...] = ()

    @property
    def account_id(self) -> str:
        """The account the execution role belongs to (the deployment's account)."""
        parts = self.execution_role_arn.split(":")
        return parts[4] if len(parts) > 4 and parts[4] else LOCAL_ACCOUNT_ID

    @property
    def ecr_repository_name(self) -> str:
        return self.ecr_repository_uri.split("/", 1)[1] if "/" in self.ecr_repository_uri else ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise :class:`SettingsError` naming the first bad one."""
        env = os.environ if env is None else env
        default_mode: Mode = "aws" if env.get("AWS_LAMBDA_FUNCTION_NAME") else "local"
        mode_raw = (env.get("TRAINFORGE_MODE") or default_mode).strip().lower()
        if mode_raw not in ("aws", "local"):
            raise SettingsError(f"TRAINFORGE_MODE must be 'aws' or 'local', got {mode_raw!r}")
        mode: Mode = "aws" if mode_raw == "aws" else "local"
        local = mode == "local"

        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ("us-east-1" if local else "")
        if not region:
            raise SettingsError("AWS_REGION is required")

        def required(name: str, local_default: str) -> str:
            value = env.get(name)
            if value:
                return value
            if local:
                return local_default
            raise SettingsError(f"{name} is required when TRAINFORGE_MODE is 'aws'")

        database_url = env.get("DATABASE_URL") or None
        database_secret_arn = env.get("DATABASE_SECRET_ARN") or None
        if not local and not (database_url or database_secret_arn):
            raise SettingsError(
                "DATABASE_SECRET_ARN (or DATABASE_URL) is required when TRAINFORGE_MODE is 'aws'"
            )

        ecr_repository_uri = required(
            "TRAINFORGE_ECR_REPOSITORY_URI",
            f"{LOCAL_ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/trainforge-training",
        )
        training_environment = env.get("TRAINFORGE_TRAINING_ENVIRONMENT") or (
            "local" if local else "sagemaker"
        )
        if training_environment not in ("sagemaker", "local"):
            raise SettingsError(
                f"TRAINFORGE_TRAINING_ENVIRONMENT must be 'sagemaker' or 'local', got {training_environment!r}"
            )
        subnets = parse_ids(env, "TRAINFORGE_TRAINING_SUBNETS", "subnet-")
        groups = parse_ids(env, "TRAINFORGE_TRAINING_SECURITY_GROUP_IDS", "sg-")
        if bool(subnets) != bool(groups):
            raise SettingsError(
                "TRAINFORGE_TRAINING_SUBNETS and TRAINFORGE_TRAINING_SECURITY_GROUP_IDS go together: set both or neither"
            )
        return cls(
            mode=mode,
            region=region,
            database_url=database_url,
            database_secret_arn=database_secret_arn,
            database_ca_bundle=env.get("DATABASE_CA_BUNDLE") or None,
            database_host=env.get("DATABASE_HOST") or None,
            database_timeout_seconds=_number(env, "DATABASE_TIMEOUT_SECONDS", 10.0, minimum=1.0),
            datasets_bucket=required("TRAINFORGE_DATASETS_BUCKET", "trainforge-datasets"),
            artifacts_bucket=required("TRAINFORGE_ARTIFACTS_BUCKET", "trainforge-artifacts"),
            dataset_prefix=_prefix(env, "TRAINFORGE_DATASET_PREFIX", "datasets/"),
            jobs_prefix=_prefix(env, "TRAINFORGE_JOBS_PREFIX", "jobs/"),
            output_prefix=_prefix(env, "TRAINFORGE_OUTPUT_PREFIX", "output/"),
            build_source_prefix=_prefix(env, "TRAINFORGE_BUILD_SOURCE_PREFIX", "build-sources/"),
            execution_role_arn=required(
                "TRAINFORGE_EXECUTION_ROLE_ARN",
                f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/trainforge-sagemaker-execution",
            ),
            ecr_repository_uri=ecr_repository_uri,
            codebuild_project=required("TRAINFORGE_CODEBUILD_PROJECT", "trainforge-image-builds"),
            default_image_uri=env.get("TRAINFORGE_DEFAULT_IMAGE_URI") or f"{ecr_repository_uri}:latest",
            default_instance_type=env.get("TRAINFORGE_DEFAULT_INSTANCE_TYPE") or "ml.m5.large",
            training_environment=training_environment,
            record_external_jobs=_flag(env, "TRAINFORGE_RECORD_EXTERNAL_JOBS", True),
            reconcile_after_minutes=_number(env, "TRAINFORGE_RECONCILE_AFTER_MINUTES", 15.0),
            allow_unauthenticated=_flag(env, "TRAINFORGE_ALLOW_UNAUTHENTICATED", local),
            sagemaker_submit_timeout_seconds=_number(
                env, "TRAINFORGE_SUBMIT_TIMEOUT_SECONDS", 60.0, minimum=1.0
            ),
            local_work_dir=env.get("TRAINFORGE_LOCAL_WORK_DIR") or os.path.join(os.getcwd(), ".local"),
            event_bus_name=env.get("TRAINFORGE_EVENT_BUS_NAME") or "default",
            role_permissions_boundary_arn=env.get("TRAINFORGE_ROLE_PERMISSIONS_BOUNDARY_ARN") or None,
            sagemaker_create_rate=_number(env, "TRAINFORGE_SAGEMAKER_CREATE_RATE", 1.0, minimum=0.001),
            dead_letter_queue_url=env.get("TRAINFORGE_DEAD_LETTER_QUEUE_URL") or None,
            public_api_url=env.get("TRAINFORGE_PUBLIC_API_URL") or None,
            dataset_wait_seconds=_number(env, "TRAINFORGE_DATASET_WAIT_SECONDS", 900.0, minimum=0.0),
            max_queue_seconds=int(_number(env, "TRAINFORGE_MAX_QUEUE_SECONDS", 86400.0, minimum=0.0)),
            local_instance_quotas=parse_quotas(env, "TRAINFORGE_LOCAL_INSTANCE_QUOTAS"),
            training_subnets=subnets,
            training_security_group_ids=groups,
            admin_principals=parse_principals(
                env, "TRAINFORGE_ADMIN_PRINCIPALS", LOCAL_ADMIN_PRINCIPAL if local else None
            ),
        )


@dataclass(frozen=True)
class Variable:
    """One environment variable: the setting it fills, what it means, and whether aws mode requires it."""

    name: str
    attribute: str
    meaning: str
    required_in_aws: bool = False
    instead: str | None = None  # a variable that may stand in for a required one


# Every variable from_env reads, for docs/reference/settings.md (generated; a test holds this list to the code).
VARIABLES: tuple[Variable, ...] = (
    Variable("TRAINFORGE_MODE", "mode", "which defaults apply: local (outside Lambda) or aws (inside Lambda)"),
    Variable("AWS_REGION", "region", "the region (AWS_DEFAULT_REGION is read when it is unset)", True),
    Variable("DATABASE_URL", "database_url", "the database as a SQLAlchemy URL (postgresql+pg8000://...)"),
    Variable("DATABASE_SECRET_ARN", "database_secret_arn", "the RDS secret to build the database URL from", True,
             instead="DATABASE_URL"),
    Variable("DATABASE_CA_BUNDLE", "database_ca_bundle", "CA bundle that verifies the database's certificate"),
    Variable("DATABASE_HOST", "database_host", "host that replaces the secret's (the RDS Proxy endpoint)"),
    Variable("DATABASE_TIMEOUT_SECONDS", "database_timeout_seconds", "socket and pool timeout"),
    Variable("TRAINFORGE_DATASETS_BUCKET", "datasets_bucket", "where datasets are dropped", True),
    Variable("TRAINFORGE_ARTIFACTS_BUCKET", "artifacts_bucket", "job output and build sources", True),
    Variable("TRAINFORGE_DATASET_PREFIX", "dataset_prefix", "prefix whose manifests start jobs"),
    Variable("TRAINFORGE_JOBS_PREFIX", "jobs_prefix", "prefix whose job specs start jobs"),
    Variable("TRAINFORGE_OUTPUT_PREFIX", "output_prefix", "job output prefix in the artifacts bucket"),
    Variable("TRAINFORGE_BUILD_SOURCE_PREFIX", "build_source_prefix", "CodeBuild source archives"),
    Variable("TRAINFORGE_EXECUTION_ROLE_ARN", "execution_role_arn", "the SageMaker execution role", True),
    Variable("TRAINFORGE_ECR_REPOSITORY_URI", "ecr_repository_uri", "the repository of training images", True),
    Variable("TRAINFORGE_CODEBUILD_PROJECT", "codebuild_project", "the image build project", True),
    Variable("TRAINFORGE_DEFAULT_IMAGE_URI", "default_image_uri", "the image of jobs that name none"),
    Variable("TRAINFORGE_DEFAULT_INSTANCE_TYPE", "default_instance_type", "the instance type of jobs that name none"),
    Variable("TRAINFORGE_TRAINING_ENVIRONMENT", "training_environment", "where jobs run: sagemaker or local"),
    Variable("TRAINFORGE_RECORD_EXTERNAL_JOBS", "record_external_jobs",
             "keep a ledger of the account's jobs Trainforge did not start"),
    Variable("TRAINFORGE_RECONCILE_AFTER_MINUTES", "reconcile_after_minutes",
             "silence after which the schedule describes a job again"),
    Variable("TRAINFORGE_ALLOW_UNAUTHENTICATED", "allow_unauthenticated", "accept API calls without a principal"),
    Variable("TRAINFORGE_SUBMIT_TIMEOUT_SECONDS", "sagemaker_submit_timeout_seconds",
             "how long a submission waits out SageMaker's throttling"),
    Variable("TRAINFORGE_LOCAL_WORK_DIR", "local_work_dir", "local mode's folder (default: .local in the current one)"),
    Variable("TRAINFORGE_EVENT_BUS_NAME", "event_bus_name", "the bus for 'Training Job Requested' events"),
    Variable("TRAINFORGE_PUBLIC_API_URL", "public_api_url",
             "the API's base URL as users reach it (-c api_url=...): Trainforge's events carry their job's URL"),
    Variable("TRAINFORGE_ROLE_PERMISSIONS_BOUNDARY_ARN", "role_permissions_boundary_arn",
             "the boundary attached to execution roles created through POST /roles"),
    Variable("TRAINFORGE_SAGEMAKER_CREATE_RATE", "sagemaker_create_rate",
             "CreateTrainingJob calls a second from one process (the stack gives each of its two submission workers "
             "0.475: 95% of half the account's rate)"),
    Variable("TRAINFORGE_DEAD_LETTER_QUEUE_URL", "dead_letter_queue_url",
             "where a handler sends poison events, with the reason"),
    Variable("TRAINFORGE_DATASET_WAIT_SECONDS", "dataset_wait_seconds",
             "how long a submission waits for the files its dataset's manifest names"),
    Variable("TRAINFORGE_MAX_QUEUE_SECONDS", "max_queue_seconds",
             "how long a job may wait for capacity unless it sets max_queue_seconds"),
    Variable("TRAINFORGE_LOCAL_INSTANCE_QUOTAS", "local_instance_quotas",
             "local mode: the quotas local SageMaker enforces and Service Quotas' stand-in reports "
             "(ml.m5.large=2,ml.g5.xlarge/spot=1)"),
    Variable("TRAINFORGE_TRAINING_SUBNETS", "training_subnets",
             "comma-separated subnet ids, with TRAINFORGE_TRAINING_SECURITY_GROUP_IDS: jobs that name no VPC run "
             "there (the stack sets its training subnets)"),
    Variable("TRAINFORGE_TRAINING_SECURITY_GROUP_IDS", "training_security_group_ids",
             "comma-separated security group ids, with TRAINFORGE_TRAINING_SUBNETS"),
    Variable("TRAINFORGE_ADMIN_PRINCIPALS", "admin_principals",
             "administrators: IAM principal patterns, comma-separated (the stack sets its Administrators role)", True),
)  # fmt: skip
