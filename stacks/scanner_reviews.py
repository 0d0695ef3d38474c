"""Scanner findings reviewed, each with its reason, written into the template where the scanners read them, as
cdk-nag's suppressions are (stacks/nag_suppressions.py): checkov's ``Metadata.checkov.skip`` ([{id, comment}]) and
cfn-guard's ``Metadata.guard.SuppressedRules``, with each rule's reason beside it in ``Metadata.reviews``.
tests/infra/test_scanners.py runs both scanners on the dev and prod templates: a finding neither fixed nor
reviewed here fails it, and so does a review without a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jsii
from aws_cdk import Aspects, CfnResource, IAspect, Stack
from constructs import IConstruct

HELPER = (
    "one of CDK's deploy-time helpers (log retention, bucket notifications, auto-delete, the migration's provider): "
    "CloudFormation invokes it synchronously while deploying; it calls AWS APIs only and holds no data"
)
SYNC_OR_QUEUED = (
    "invoked by an SQS event source mapping, API Gateway or CloudFormation, synchronously: a function's DLQ "
    "applies only to asynchronous invocations. Reconcile, the one invoked asynchronously, sends its failures to an "
    "on-failure destination with an alarm"
)
DEAD_LETTER = (
    "this queue is itself a dead-letter queue (with its alarm): a DLQ of a DLQ would only move the problem"
)


@dataclass(frozen=True)
class Review:
    resource_type: str
    logical_id: str  # a regular expression the logical id must match
    checkov: dict[str, str]
    guard: dict[str, str]
    stage: str | None = None  # "dev": reviewed in dev only (prod's template passes the check)


REVIEWS = [
    Review("AWS::Lambda::Function", r"^Functions", {"CKV_AWS_116": SYNC_OR_QUEUED}, {}),
    Review("AWS::Lambda::Function", r"^(?!Functions)", {"CKV_AWS_116": HELPER, "CKV_AWS_115": HELPER,
           "CKV_AWS_117": HELPER, "CKV_AWS_173": HELPER + "; its environment holds no secret"},
           {"lambda_inside_vpc_check": HELPER}),
    Review("AWS::IAM::Policy", r"^LogRetention", {"CKV_AWS_111": "CDK's log-retention helper sets retention on "
           "log groups it is given at deploy time, by name"}, {}),
    Review("AWS::SQS::Queue", r".", {"CKV_AWS_27": "SSE-SQS (keys SQS manages) encrypts every queue at rest; a "
           "customer key would add KMS calls per data key and key grants for EventBridge's deliveries, with no "
           "reader outside this account to keep out"}, {}),
    Review("AWS::SQS::Queue", r"(DeadLetters|Failures)", {}, {"sqs_dlq_check": DEAD_LETTER}),
    Review("AWS::S3::Bucket", r"^StorageAccessLogs", {"CKV_AWS_18": "the access-log bucket: logging it would log "
           "its own logging"}, {"s3_bucket_logging_enabled_check": "the access-log bucket: logging it would log "
           "its own logging", "s3_bucket_default_encryption_kms_check": "S3 server access logging cannot deliver "
           "to an SSE-KMS bucket; it is SSE-S3", "s3_event_notifications_enabled_check": "nothing reacts to "
           "access logs: they are read when something is investigated, not acted on as they arrive"}),
    Review("AWS::S3::Bucket", r".", {}, {"s3_bucket_object_lock_enabled_check": "object lock would forbid "
           "deleting what teams and the lifecycle rules must delete (datasets, outputs, old logs); versioning "
           "keeps what is overwritten or deleted, and prod retains the buckets"}),
    Review("AWS::S3::Bucket", r"^StorageArtifacts", {}, {"s3_event_notifications_enabled_check": "nothing reacts "
           "to artifacts: SageMaker's and CodeBuild's own events say when they are written"}),
    Review("AWS::S3::Bucket", r"^StorageDatasets", {}, {"s3_event_notifications_enabled_check": "its EventBridge "
           "notifications are on, set by CDK's bucket-notifications custom resource, which the rule cannot see"}),
    Review("AWS::KMS::Key", r".", {"CKV_AWS_33": "the one * principal is in a Deny: no one but an AWS service, "
           "for an AWS resource, may be granted use of the key (Control Tower's CT.KMS.PR.3)"}, {}),
    Review("AWS::ApiGateway::Stage", r".", {"CKV_AWS_120": "answers are per caller and change with every poll: "
           "a cache would serve stale answers, or one team's to another"}, {}),
    Review("AWS::Lambda::Permission", r"^ApiRestApi", {}, {"lambda_function_public_access_prohibited_check": "the "
           "principal is API Gateway, limited by SourceArn to this API's execute-api ARN (an Fn::Join the rule "
           "does not read)"}),
    Review("AWS::CodeBuild::Project", r".", {}, {"codebuild_project_environment_privileged_check": "building a "
           "container image with docker needs privileged mode; the project builds only Trainforge's generated "
           "Dockerfile from its own source prefix and pushes only to Trainforge's repository"}),
    Review("AWS::Logs::LogGroup", r".", {}, {"cloudwatch_log_group_retention_period_check": "dev keeps logs 30 "
           "days; prod keeps them 365, which the rule checks on prod's template"}, stage="dev"),
    Review("AWS::RDS::DBCluster", r".", {}, {"rds_cluster_deletion_protection_enabled_check": "dev stacks are torn "
           "down freely, with a final snapshot; prod's cluster has deletion protection (checked on its template)"},
           stage="dev"),
]  # fmt: skip


@jsii.implements(IAspect)
class ReviewedFindings:
    def __init__(self, stage: str) -> None:
        self.stage = stage

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        logical_id = Stack.of(node).get_logical_id(node)
        for review in REVIEWS:
            if review.resource_type != node.cfn_resource_type or not re.search(review.logical_id, logical_id):
                continue
            if review.stage is not None and review.stage != self.stage:
                continue
            skips = (node.get_metadata("checkov") or {}).get("skip", [])
            skips += [{"id": check, "comment": reason} for check, reason in review.checkov.items()]
            if skips:
                node.add_metadata("checkov", {"skip": skips})
            rules = (node.get_metadata("guard") or {}).get("SuppressedRules", [])
            reasons = dict(node.get_metadata("reviews") or {})
            for rule, reason in review.guard.items():
                rules.append(rule)
                reasons[rule] = reason
            if rules:
                node.add_metadata("guard", {"SuppressedRules": rules})
                node.add_metadata("reviews", reasons)


def review_scanner_findings(stack: Stack, stage: str) -> None:
    Aspects.of(stack).add(ReviewedFindings("prod" if stage == "prod" else "dev"))
