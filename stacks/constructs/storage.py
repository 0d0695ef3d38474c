"""Buckets for datasets and artifacts (KMS, SSL only, no public access, access logs; datasets send EventBridge
notifications) and the ECR repository for training images."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.key_policy import grants_only_for_aws_services


class TrainforgeStorage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, production: bool) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY
        self.key = kms.Key(
            self, "DataKey", enable_key_rotation=True, removal_policy=removal,
            description="Trainforge datasets, artifacts, images and builds",
        )  # fmt: skip
        grants_only_for_aws_services(self.key)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write to SSE-KMS buckets
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(365 if production else 30),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            versioned=True,  # a log overwritten or deleted keeps its earlier version for 30 days
            removal_policy=removal,
            auto_delete_objects=not production,
        )
        self.datasets = self._bucket(
            "Datasets", "datasets/", event_bridge=True, removal=removal, production=production
        )
        self.artifacts = self._bucket(
            "Artifacts", "artifacts/", event_bridge=False, removal=removal, production=production
        )
        self.repository = ecr.Repository(
            self,
            "TrainingImages",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.key,
            lifecycle_rules=[
                ecr.LifecycleRule(max_image_count=200, description="keep the newest 200 images")
            ],
            removal_policy=removal,
            empty_on_delete=not production,
        )

    def _bucket(
        self, name: str, log_prefix: str, *, event_bridge: bool, removal: RemovalPolicy, production: bool
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=log_prefix,
            event_bridge_enabled=event_bridge,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            removal_policy=removal,
            auto_delete_objects=not production,
        )
