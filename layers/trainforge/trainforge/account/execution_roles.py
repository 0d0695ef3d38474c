"""SageMaker execution roles: the policy a training job needs, and the roles Trainforge creates (under its own
path, with its tag) and will update, never anyone else's."""

from __future__ import annotations

import json
import re
from typing import Any

from trainforge.aws import error_code, error_message
from trainforge.errors import AwsRefusalError, RoleConflictError, SageMakerConfigurationError
from trainforge.settings import Settings

ROLE_PATH = "/trainforge/"  # the API may create roles only under this path (see the stack's policy)


ROLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,64}$")


SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


TRAINFORGE_TAG = "trainforge:managed"


def _iam_refusal(exc: Exception, doing: str) -> SageMakerConfigurationError:
    """IAM's answer as a contract error: the caller's input (422) or IAM refusing Trainforge itself (502)."""
    code = error_code(exc)
    if not code:
        raise exc
    message = f"{doing}: {code}: {error_message(exc)}"
    if code in ("InvalidInput", "ValidationError", "MalformedPolicyDocument", "LimitExceeded"):
        return SageMakerConfigurationError(message, field="role_name")
    return AwsRefusalError(message, field="role_name")


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


def create_execution_role(iam: Any, settings: Settings, role_name: str) -> str:
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
    trust = json.dumps(sagemaker_trust_policy())
    boundary = settings.role_permissions_boundary_arn
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
        arn = owned_role(iam, role_name)["Arn"]
        try:
            iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
        except Exception as exc:
            raise _iam_refusal(exc, f"could not update the trust policy of role {role_name}") from exc
    try:
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName="trainforge-training-access",
            PolicyDocument=json.dumps(execution_role_policy(settings)),
        )
    except Exception as exc:
        raise _iam_refusal(exc, f"role {role_name} exists but its policy could not be set") from exc
    return str(arn)


def owned_role(iam: Any, role_name: str) -> dict[str, Any]:
    """The existing role, if Trainforge made it (its path and its tag); anything else is refused untouched."""
    refusal = (
        f"role {role_name} already exists and Trainforge did not create it (Trainforge's roles live under "
        f"the path {ROLE_PATH} with the tag {TRAINFORGE_TAG}); it is left untouched: choose another name"
    )
    try:
        role: dict[str, Any] = iam.get_role(RoleName=role_name)["Role"]
    except Exception as exc:
        if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
            # Trainforge may read only its own path: a role it cannot read is not its own.
            raise RoleConflictError(refusal, field="role_name") from exc
        raise _iam_refusal(exc, f"could not read role {role_name}") from exc
    tags = {t.get("Key"): t.get("Value") for t in role.get("Tags") or []}
    if role.get("Path") != ROLE_PATH or tags.get(TRAINFORGE_TAG) != "true":
        raise RoleConflictError(refusal, field="role_name")
    return role
