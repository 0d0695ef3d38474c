"""The SageMaker execution role: read the dataset prefix, write the output prefix, pull the training image,
write the job's logs and metrics. Nothing else. The same statements bound the roles created through the API."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
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
        vpc: ec2.IVpc | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Training jobs in the deployment's VPC (when it offers one): its private subnets with egress (NAT for ECR
        # and logs, the gateway endpoint for S3) and a group that lets a job's own instances reach each other.
        self.training_subnets: list[str] = []
        self.training_security_group: ec2.SecurityGroup | None = None
        if vpc is not None:
            self.training_security_group = ec2.SecurityGroup(
                self, "TrainingJobs", vpc=vpc, allow_all_outbound=True,
                description="SageMaker training jobs: their instances talk to each other, and out",
            )  # fmt: skip
            self.training_security_group.add_ingress_rule(
                self.training_security_group,
                ec2.Port.all_traffic(),
                "between one job's instances (distributed)",
            )
            self.training_subnets = vpc.select_subnets(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            ).subnet_ids
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
        if self.training_security_group is not None:
            statements += [
                # Describe actions have no resource types.
                iam.PolicyStatement(
                    sid="DescribeTrainingNetwork",
                    actions=[
                        "ec2:DescribeVpcs",
                        "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeNetworkInterfaces",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="TrainingNetworkInterfaces",
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission",
                    ],
                    resources=[
                        stack.format_arn(service="ec2", resource="network-interface", resource_name="*"),
                        stack.format_arn(
                            service="ec2",
                            resource="security-group",
                            resource_name=self.training_security_group.security_group_id,
                        ),
                        *(
                            stack.format_arn(service="ec2", resource="subnet", resource_name=subnet)
                            for subnet in self.training_subnets
                        ),
                    ],
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
