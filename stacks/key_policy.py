"""What every KMS key of the stack says about grants: only AWS services, for AWS resources, may be granted use of
it (Control Tower's CT.KMS.PR.3). Lambda's environment encryption, RDS, Secrets Manager and SNS create their grants
that way; nothing else needs one."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms


def grants_only_for_aws_services(key: kms.Key) -> None:
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="GrantsOnlyForAwsServices",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
        )
    )
