"""Create in the emulator what the CDK stacks deploy in AWS: buckets, repository, execution role, build project."""

from __future__ import annotations

import json
from typing import Any

from trainforge.account.execution_roles import sagemaker_trust_policy
from trainforge.aws import client, error_code
from trainforge.settings import Settings


def _ignore_exists(call: Any, *codes: str, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except Exception as exc:
        if error_code(exc) not in codes:
            raise


def provision(settings: Settings) -> None:
    """Idempotently create the resources Trainforge expects (local mode only)."""
    s3 = client("s3", settings.region)
    for bucket in (settings.datasets_bucket, settings.artifacts_bucket):
        _ignore_exists(s3.create_bucket, "BucketAlreadyOwnedByYou", "BucketAlreadyExists", Bucket=bucket)
    _ignore_exists(
        client("ecr", settings.region).create_repository,
        "RepositoryAlreadyExistsException",
        repositoryName=settings.ecr_repository_name,
    )
    _ignore_exists(
        client("iam", settings.region).create_role,
        "EntityAlreadyExists",
        RoleName=settings.execution_role_arn.rsplit("/", 1)[-1],
        AssumeRolePolicyDocument=json.dumps(sagemaker_trust_policy()),
    )
    _ignore_exists(
        client("codebuild", settings.region).create_project,
        "ResourceAlreadyExistsException",
        name=settings.codebuild_project,
        source={"type": "S3", "location": f"{settings.artifacts_bucket}/{settings.build_source_prefix}"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "ARM_CONTAINER",
            "image": "aws/codebuild/amazonlinux-aarch64-standard:3.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": True,
        },
        serviceRole=f"arn:aws:iam::{settings.account_id}:role/trainforge-codebuild",
    )
