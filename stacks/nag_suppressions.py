"""cdk-nag findings that were reviewed and accepted: each names its resource, the exact finding and the reason.

Everything else AwsSolutions reports is fixed, not suppressed; `tests/infra` fails on any unsuppressed finding.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct

NEWEST_LAMBDA_PYTHON = "3.14"
LOG_STREAMS = "log streams are created at run time inside the function's own log group; the group is fixed"
TRAINING_JOBS = (
    "training job names are chosen at submission; access is limited to this account's and region's training jobs "
    "(creation further requires the trainforge:managed tag, stopping requires it on the job)"
)


TUNING_JOBS = (
    "tuning job names are chosen at submission; access is limited to this account's and region's tuning jobs "
    "(creation requires the trainforge:managed tag, stopping requires it on the tuning job; describe is read-only)"
)


def _suppress(construct: IConstruct, *findings: tuple[str, str, list[str] | None]) -> None:
    NagSuppressions.add_resource_suppressions(
        construct,
        [
            NagPackSuppression(id=rule, reason=reason, applies_to=applies)
            for rule, reason, applies in findings
        ],
        apply_to_children=True,
    )


def _stack_level(stack: Stack, id_prefix: str, *findings: tuple[str, str, list[str] | None]) -> None:
    """For CDK's own singleton helpers, which live at the stack's root under a hashed id."""
    for child in stack.node.children:
        if child.node.id.startswith(id_prefix):
            _suppress(child, *findings)


# Read-only actions without resource types that some functions need, named in their suppression's reason.
RESOURCELESS_READS = {
    "api": ", nor do CloudWatch's ListMetrics and GetMetricData (read-only: GET /jobs/{id}/metrics) and Service "
    "Quotas' ListServiceQuotas (read-only: the configuration check)",
    "reconcile": ", nor do Service Quotas' ListServiceQuotas and the Price List's GetProducts (read-only: the "
    "capacity sweep reads the account's instance quotas and SageMaker's prices)",
}


def suppress_reviewed_findings(
    stack: Stack, *, functions: Any, database: Any, storage: Any, builds: Any, api: Any, migration: Any,
    production: bool, routing: Any, reconcile_failures: Any, python_version: str, administrators: Any,
    network: Any = None,
) -> None:  # fmt: skip
    rest_api = stack.get_logical_id(api.rest_api.node.default_child)
    _suppress(administrators, ("AwsSolutions-IAM5", "administrators call every method and path of this API's "
              "stages (they manage teams and every team's jobs); nothing else is granted",
              [f"Resource::arn:aws:execute-api:{stack.region}:<AWS::AccountId>:<{rest_api}>/*/*/*"]))  # fmt: skip
    datasets = stack.get_logical_id(storage.datasets.node.default_child)
    artifacts = stack.get_logical_id(storage.artifacts.node.default_child)
    project = stack.get_logical_id(builds.project.node.default_child)
    for handler, function in functions.functions.items():
        log_arn_id = stack.get_logical_id(function.log_group.node.default_child)
        role = function.role
        findings: list[tuple[str, str, list[str] | None]] = [
            ("AwsSolutions-IAM5", LOG_STREAMS, [f"Resource::<{log_arn_id}.Arn>:*"]),
            (
                "AwsSolutions-IAM5",
                "ec2:DescribeNetworkInterfaces (Lambda in a VPC) and X-Ray trace writes support no resource-level "
                "permissions"
                + RESOURCELESS_READS.get(handler, "")
                + "; they are the only actions granted on *",
                ["Resource::*"],
            ),
            (
                "AwsSolutions-IAM5",
                "Lambda creates, deletes and addresses the function's network interfaces with its role; the "
                "interfaces are named at run time, so the grant is this account's and region's EC2 resources, as "
                "AWS's Lambda guide gives it",
                [f"Resource::arn:aws:ec2:{stack.region}:<AWS::AccountId>:*/*"],
            ),
        ]
        if handler in ("api", "submissions", "training_state", "reconcile"):
            findings.append(
                (
                    "AwsSolutions-IAM5",
                    TRAINING_JOBS,
                    [
                        f"Resource::arn:<AWS::Partition>:sagemaker:{stack.region}:<AWS::AccountId>:training-job/*",
                        f"Resource::arn:aws:sagemaker:{stack.region}:<AWS::AccountId>:training-job/*",
                    ],
                )
            )
        if handler in ("api", "submissions", "reconcile"):
            findings.append(
                ("AwsSolutions-IAM5", TUNING_JOBS,
                 [f"Resource::arn:<AWS::Partition>:sagemaker:{stack.region}:<AWS::AccountId>:hyper-parameter-tuning-job/*",
                  f"Resource::arn:aws:sagemaker:{stack.region}:<AWS::AccountId>:hyper-parameter-tuning-job/*"])
            )  # fmt: skip
        if handler in ("api", "training_state"):
            findings.append(
                ("AwsSolutions-IAM5",
                 "reads (never writes) the streams SageMaker names per job and instance inside its one training log "
                 "group: the API for GET /jobs/{id}/logs, the state handler for a failed job's last lines",
                 [f"Resource::arn:<AWS::Partition>:logs:{stack.region}:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*",
                  f"Resource::arn:aws:logs:{stack.region}:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*"])
            )  # fmt: skip
        if handler == "api":
            findings += [
                ("AwsSolutions-IAM5", "presigned dataset uploads (and the resume check) reach objects under the dataset prefix only",
                 [f"Resource::<{datasets}.Arn>/datasets/*"]),
                ("AwsSolutions-IAM5", "image build sources are written under the build-sources prefix only",
                 [f"Resource::<{artifacts}.Arn>/build-sources/*"]),
                ("AwsSolutions-IAM5",
                 "trainforge download presigns a finished job's model.tar.gz or output.tar.gz: SageMaker writes them "
                 "as output/<job name>/output/, the job name is only known per request, and nothing else is readable",
                 [f"Resource::<{artifacts}.Arn>/output/*/output/*.tar.gz"]),
                ("AwsSolutions-IAM5",
                 "execution roles created through POST /roles get user-chosen names under the /trainforge/ path, and "
                 "iam:CreateRole requires Trainforge's permissions boundary",
                 ["Resource::arn:aws:iam::<AWS::AccountId>:role/trainforge/*",
                  "Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/trainforge/*"]),
            ]  # fmt: skip
        if handler == "notifications":
            findings += [
                ("AwsSolutions-IAM5",
                 "webhook signing secrets are named by each team's definition: only secrets under trainforge/webhooks/ "
                 "are readable (the team definition refuses any other name)",
                 [f"Resource::arn:<AWS::Partition>:secretsmanager:{stack.region}:<AWS::AccountId>:secret:trainforge/webhooks/*",
                  f"Resource::arn:aws:secretsmanager:{stack.region}:<AWS::AccountId>:secret:trainforge/webhooks/*"]),
                ("AwsSolutions-IAM5",
                 "notices go to each team's own SNS topics (email, and the chat topics AWS Chatbot listens to), named "
                 "trainforge-team-<team>: teams are defined at run time, so the names are only known then",
                 [f"Resource::arn:<AWS::Partition>:sns:{stack.region}:<AWS::AccountId>:trainforge-team-*",
                  f"Resource::arn:aws:sns:{stack.region}:<AWS::AccountId>:trainforge-team-*"]),
            ]  # fmt: skip
        if handler == "submissions":
            findings += [
                ("AwsSolutions-IAM5", "the worker reads what users drop under the dataset and job-spec prefixes only",
                 [f"Resource::<{datasets}.Arn>/datasets/*", f"Resource::<{datasets}.Arn>/jobs/*"]),
                ("AwsSolutions-IAM5",
                 "each job's channel manifests (the exact keys it may read) are written as output/<job name>/input/"
                 "<channel>.manifest: the job name is only known at submission, and nothing else may be written",
                 [f"Resource::<{artifacts}.Arn>/output/*/input/*.manifest"]),
            ]  # fmt: skip
        if role is not None:
            _suppress(role, *findings)
        if python_version != NEWEST_LAMBDA_PYTHON:
            _suppress(
                function,
                ("AwsSolutions-L1",
                 f"the runtime is pinned to python{python_version} (stacks/layer_build.LAMBDA_PYTHON) so that every "
                 f"build machine deploys the same one, byte-compiled by its own interpreter; the project's build "
                 f"machines have {python_version} but not {NEWEST_LAMBDA_PYTHON} yet, and moving the pin is one line "
                 f"once they do", None),
            )  # fmt: skip

    training_boundary = [
        ("AwsSolutions-IAM5", "a training job reads the dataset prefix and writes the output prefix, whose keys are per job",
         [f"Resource::<{datasets}.Arn>/datasets/*", f"Resource::<{artifacts}.Arn>/output/*"]),
        ("AwsSolutions-IAM5", "SageMaker names each job's log streams inside /aws/sagemaker/TrainingJobs",
         [f"Resource::arn:aws:logs:{stack.region}:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs*",
          f"Resource::arn:<AWS::Partition>:logs:{stack.region}:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs*"]),
        ("AwsSolutions-IAM5", "ecr:GetAuthorizationToken, cloudwatch:PutMetricData and (for jobs in the VPC) the EC2 "
         "Describe actions have no resource types; metrics are limited to SageMaker's training namespace by condition",
         ["Resource::*"]),
        ("AwsSolutions-IAM5", "a job in the VPC gets network interfaces SageMaker creates and names at run time, in the "
         "stack's training subnets and security group only",
         [f"Resource::arn:aws:ec2:{stack.region}:<AWS::AccountId>:network-interface/*",
          f"Resource::arn:<AWS::Partition>:ec2:{stack.region}:<AWS::AccountId>:network-interface/*"]),
    ]  # fmt: skip
    _suppress(stack.node.find_child("SageMakerAccess"), *training_boundary)

    _suppress(
        builds.project,
        ("AwsSolutions-CB3", "privileged mode is what `docker build` needs; the project runs only Trainforge's "
         "generated buildspec from its own source archives", None),
        ("AwsSolutions-IAM5", "build sources are per-build archives under the build-sources prefix",
         [f"Resource::<{artifacts}.Arn>/build-sources/*"]),
        ("AwsSolutions-IAM5", "ecr:GetAuthorizationToken has no resource type", ["Resource::*"]),
        ("AwsSolutions-IAM5", "CDK's CodeBuild defaults: the project's own log group streams, report groups and the "
         "KMS data-key actions for its encryption key",
         [f"Resource::arn:aws:logs:{stack.region}:<AWS::AccountId>:log-group:/aws/codebuild/<{project}>:*",
          f"Resource::arn:aws:codebuild:{stack.region}:<AWS::AccountId>:report-group/<{project}>-*",
          f"Resource::arn:<AWS::Partition>:logs:{stack.region}:<AWS::AccountId>:log-group:/aws/codebuild/<{project}>:*",
          f"Resource::arn:<AWS::Partition>:codebuild:{stack.region}:<AWS::AccountId>:report-group/<{project}>-*",
          "Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*", "Action::s3:GetObject*", "Action::s3:GetBucket*",
          "Action::s3:List*"]),
    )  # fmt: skip

    _suppress(
        database.cluster.node.find_child("MonitoringRole"),
        ("AwsSolutions-IAM4", "the role RDS assumes to publish enhanced monitoring carries AWS's "
         "AmazonRDSEnhancedMonitoringRole, the policy RDS documents for it (it writes to RDSOSMetrics only)",
         ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"]),
    )  # fmt: skip
    nat = getattr(network, "nat_instance", None)
    if nat is not None:  # the lean profile's NAT instance (docs/cost.md)
        for instance in nat.gateway_instances:
            _suppress(
                instance,
                ("AwsSolutions-EC28", "the lean profile's NAT instance only forwards HTTPS; basic monitoring (5 min) "
                 "is enough, and a NAT that stops shows in the functions' errors and the queues' age alarms", None),
                ("AwsSolutions-EC29", "the NAT instance holds no state and `make destroy` must delete it; "
                 "termination protection would only make the stack undeletable", None),
            )  # fmt: skip
        _suppress(
            nat.security_group,
            ("CdkNagValidationFailure", "AwsSolutions-EC23 cannot read the VPC's CIDR (an intrinsic): the only "
             "inbound rule is HTTPS from the VPC's own CIDR, never 0.0.0.0/0", None),
        )  # fmt: skip
    if not production:
        _suppress(
            database.cluster,
            (
                "AwsSolutions-RDS10",
                "deletion protection is on in the prod stage; dev stacks are torn down freely, and a final snapshot "
                "keeps the ledger when they are",
                None,
            ),
        )
    else:
        _suppress(
            database.node.find_child("LedgerBackups"),
            ("AwsSolutions-IAM4", "the role AWS Backup assumes for the ledger's selection carries AWS's own "
             "AWSBackupServiceRolePolicyForBackup, the policy AWS Backup documents for that role; the selection "
             "limits it to the ledger cluster", [
                 "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"]),
        )  # fmt: skip
    dead_letter_note = (
        "this queue is itself a dead-letter queue ({}): a DLQ of a DLQ would only move the problem"
    )
    _suppress(
        routing.rule_dead_letters,
        ("AwsSolutions-SQS3", dead_letter_note.format("for EventBridge rule targets"), None),
    )
    _suppress(
        reconcile_failures,
        ("AwsSolutions-SQS3", dead_letter_note.format("for the scheduled reconciler"), None),
    )

    _suppress(
        api.rest_api,
        ("AwsSolutions-COG4", "every method uses IAM (SigV4) authorization: callers are IAM principals, not Cognito users", None),
        ("AwsSolutions-APIG3", "no anonymous traffic is served: every method needs a SigV4-signed request and the stage "
         "is throttled; attach the account's regional web ACL where one is mandated", None),
        ("AwsSolutions-IAM4", "API Gateway's account-level CloudWatch role uses the AWS-managed push-to-logs policy CDK "
         "creates for it", ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]),
    )  # fmt: skip
    cdk_helper = (
        "AwsSolutions-IAM4",
        "a CDK-managed helper function (not Trainforge code) with the basic execution policy CDK gives it",
        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    )
    _suppress(migration.provider, cdk_helper,
              ("AwsSolutions-IAM5", "the CDK provider framework invokes the migration function's versions",
               [f"Resource::<{stack.get_logical_id(functions.functions['migrate'].node.default_child)}.Arn>:*"]))  # fmt: skip
    _stack_level(stack, "BucketNotificationsHandler", cdk_helper)
    _stack_level(
        stack,
        "LogRetention",
        cdk_helper,
        ("AwsSolutions-IAM5", "CDK's log-retention helper sets retention on log groups it cannot name in advance",
         ["Resource::*"]),
    )  # fmt: skip
