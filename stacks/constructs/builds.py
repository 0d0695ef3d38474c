"""Training images are built by CodeBuild (privileged, for docker build) and pushed to Trainforge's repository;
its role may push only there and read only the build sources."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct


class TrainforgeImageBuilds(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        sources: s3.IBucket,
        source_prefix: str,
        repository: ecr.IRepository,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        self.project = codebuild.Project(
            self,
            "Project",
            project_name=project_name,
            description="Builds Trainforge training images from a generated Dockerfile and buildspec",
            # Each build overrides the source with its own archive under the build-sources prefix.
            source=codebuild.Source.s3(bucket=sources, path=f"{source_prefix}placeholder.zip"),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=True,
            ),
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "phases": {"build": {"commands": ["echo every build overrides this buildspec"]}},
                }
            ),
            encryption_key=key,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)
            ),
            timeout=Duration.minutes(60),
            queued_timeout=Duration.hours(2),
        )
        role = self.project.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="ReadBuildSources", actions=["s3:GetObject", "s3:GetObjectVersion"],
                                resources=[sources.arn_for_objects(f"{source_prefix}*")])
        )  # fmt: skip
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PushToTrainingImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
                ],
                resources=[repository.repository_arn],
            )
        )  # fmt: skip
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="RegistryToken", actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
