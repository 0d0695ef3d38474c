"""The SageMaker execution role: read the dataset prefix, write the output prefix, pull the training image,
write the job's logs and metrics. Nothing else. The same statements bound the roles created through the API."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


class TrainforgeSageMakerAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        datasets: s3.IBucket,
        dataset_prefix: str,
        artifacts: s3.IBucket,
        output_prefix: str,
        repository: ecr.IRepository,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        statements = [
            iam.PolicyStatement(
                sid="ReadDatasets",
                actions=["s3:GetObject"],
                resources=[datasets.arn_for_objects(f"{dataset_prefix}*")],
            ),
            iam.PolicyStatement(
                sid="ListDatasets",
                actions=["s3:ListBucket"],
                resources=[datasets.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{dataset_prefix}*"]}},
            ),
            iam.PolicyStatement(
                sid="WriteOutput",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[artifacts.arn_for_objects(f"{output_prefix}*")],
            ),
            iam.PolicyStatement(
                sid="ListOutput",
                actions=["s3:ListBucket"],
                resources=[artifacts.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{output_prefix}*"]}},
            ),
            iam.PolicyStatement(
                sid="DataKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]
            ),
            iam.PolicyStatement(
                sid="PullTrainingImage",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[repository.repository_arn],
            ),
            iam.PolicyStatement(sid="RegistryToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                sid="TrainingLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/TrainingJobs*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="TrainingMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
            ),
        ]
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker training jobs started by Trainforge",
            inline_policies={"training": iam.PolicyDocument(statements=statements)},
        )
        self.created_role_boundary = iam.ManagedPolicy(
            self,
            "CreatedRoleBoundary",
            description="Ceiling for SageMaker execution roles created through Trainforge's POST /roles",
            statements=statements,
        )

    def allow_pass_to_sagemaker(self, grantee: iam.IGrantable) -> None:
        """iam:PassRole for this role only, and only to SageMaker."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassExecutionRoleToSageMaker",
                actions=["iam:PassRole"],
                resources=[self.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
