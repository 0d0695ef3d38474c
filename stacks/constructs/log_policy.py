"""Every log group of the stack under one policy, applied as an aspect (so no construct can forget it): encrypted
with the stack's key, and kept 365 days in prod (30 in dev). CloudWatch Logs may use the key only for this
account's log groups in this region."""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, Aspects, IAspect, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import IConstruct

RETENTION_DAYS = {True: 365, False: 30}  # production, dev


@jsii.implements(IAspect)
class EncryptedLogs:
    def __init__(self, key: kms.IKey, production: bool) -> None:
        self.key = key
        self.days = RETENTION_DAYS[production]

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup):
            node.kms_key_id = self.key.key_arn
            node.retention_in_days = self.days


def apply(stack: Stack, key: kms.Key, production: bool) -> None:
    Aspects.of(stack).add(EncryptedLogs(key, production))
    allow_logs_to_use(key, stack)


def allow_logs_to_use(key: kms.Key, stack: Stack) -> None:
    """The key policy statement CloudWatch Logs needs to encrypt a log group, for this account's groups only."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchLogsOfThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],  # a key policy's resource is the key itself
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
