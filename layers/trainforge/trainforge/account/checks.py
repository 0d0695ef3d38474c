"""Whether the account can run Trainforge's jobs: credentials, execution role, buckets, repository, quota."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from trainforge.account.execution_roles import SAGEMAKER_PRINCIPAL, trusts_sagemaker
from trainforge.aws import error_code, error_message
from trainforge.settings import Settings


class AccountChecks:
    """``validate_configuration``'s checks; ``aws(service)`` gives the client for a service."""

    def __init__(self, settings: Settings, aws: Callable[[str], Any]) -> None:
        self.settings = settings
        self.aws = aws

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
            identity = self.aws("sts").get_caller_identity()
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
            role = self.aws("iam").get_role(RoleName=name)["Role"]
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
            self.aws("s3").head_bucket(Bucket=bucket)
        except Exception as exc:
            return self._check(
                name, False, f"bucket {bucket} is not reachable: {error_code(exc) or exc}",
                f"create the bucket or set TRAINFORGE_{name.upper()} to one this role can use",
            )  # fmt: skip
        return self._check(name, True, f"bucket {bucket} exists and is reachable")

    def _check_ecr_repository(self) -> dict[str, Any]:
        repository_name = self.settings.ecr_repository_name
        try:
            self.aws("ecr").describe_repositories(repositoryNames=[repository_name])
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
            paginator = self.aws("service-quotas").get_paginator("list_service_quotas")
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
