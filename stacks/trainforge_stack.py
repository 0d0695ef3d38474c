"""The Trainforge stack: network, database, storage, image builds, SageMaker access, functions, event routing,
the REST API and schema migrations, each a construct of its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs import log_policy
from stacks.constructs.api import TrainforgeApi
from stacks.constructs.builds import TrainforgeImageBuilds
from stacks.constructs.database import DATABASE_NAME, TrainforgeDatabase
from stacks.constructs.event_routing import TrainforgeEventRouting
from stacks.constructs.event_schemas import TrainforgeEventSchemas
from stacks.constructs.functions import FunctionSpec, TrainforgeFunctions
from stacks.constructs.migrations import TrainforgeSchemaMigration
from stacks.constructs.network import TrainforgeNetwork
from stacks.constructs.observability import TrainforgeObservability
from stacks.constructs.sagemaker_access import TrainforgeSageMakerAccess
from stacks.constructs.storage import TrainforgeStorage
from stacks.constructs.team_access import TrainforgeTeamAccess
from stacks.constructs.team_notices import TrainforgeTeamNotices
from stacks.nag_suppressions import suppress_reviewed_findings
from stacks.scanner_reviews import review_scanner_findings
from trainforge.models.team_definitions import TeamDefinition
from trainforge.routing import event_routes

DATASET_PREFIX = "datasets/"
JOBS_PREFIX = "jobs/"
OUTPUT_PREFIX = "output/"
BUILD_SOURCE_PREFIX = "build-sources/"
ROLE_PATH = "/trainforge/"

FUNCTIONS = [
    FunctionSpec("api", "Trainforge REST API", timeout_seconds=29, memory_mb=1024, reserved_concurrency=20),
    FunctionSpec(
        "submissions",
        "Submits training jobs from the submission queue, paced for SageMaker's create rate",
        timeout_seconds=120,
        reserved_concurrency=2,
        # SageMaker admits ~1 create/s per account; two workers pace at 95% of half that each (jitter headroom).
        environment={"TRAINFORGE_SUBMIT_TIMEOUT_SECONDS": "90", "TRAINFORGE_SAGEMAKER_CREATE_RATE": "0.475"},
    ),
    FunctionSpec(
        "training_state",
        "Applies SageMaker training state changes",
        timeout_seconds=60,
        reserved_concurrency=10,
    ),
    FunctionSpec(
        "build_state", "Applies CodeBuild build state changes", timeout_seconds=30, reserved_concurrency=2
    ),
    FunctionSpec(
        "notifications",
        "Sends Trainforge's own events to the teams that subscribed (webhooks, email, chat)",
        timeout_seconds=60,
        reserved_concurrency=2,
    ),
    FunctionSpec(
        "reconcile", "Describes jobs whose events went missing", timeout_seconds=300, reserved_concurrency=1
    ),
    FunctionSpec(
        "migrate",
        "Runs schema migrations on deploy",
        timeout_seconds=300,
        reserved_concurrency=1,
        snapstart=False,
    ),
]


class TrainforgeStack(Stack):
    @staticmethod
    def _training_network(sagemaker: TrainforgeSageMakerAccess) -> dict[str, str]:
        """The subnets and security group jobs that name no VPC run in (with -c training_in_vpc=true)."""
        group = sagemaker.training_security_group
        if group is None:
            return {}
        return {
            "TRAINFORGE_TRAINING_SUBNETS": Fn.join(",", sagemaker.training_subnets),
            "TRAINFORGE_TRAINING_SECURITY_GROUP_IDS": group.security_group_id,
        }

    @staticmethod
    def _watch(observability: TrainforgeObservability, fn: dict[str, Any], routing: TrainforgeEventRouting,
               reconcile_failures: sqs.IQueue, api: TrainforgeApi, database: TrainforgeDatabase,
               builds: TrainforgeImageBuilds) -> None:  # fmt: skip
        """An alarm on every signal that needs a person (docs/runbook.md argues each threshold), and the dashboard."""
        title = {name: "".join(part.title() for part in name.split("_")) for name in fn}
        observability.watch_dead_letters(
            "RuleDelivery", routing.rule_dead_letters, "Events EventBridge could not deliver"
        )
        observability.watch_dead_letters("Reconcile", reconcile_failures, "The reconciler's failed runs")
        for handler, dead_letter in routing.dead_letters.items():
            observability.watch_dead_letters(
                title[handler], dead_letter, f"Events the {handler} function gave up on"
            )
        for handler, queue in routing.queues.items():
            # Submissions drain at SageMaker's pace (about one a second): a burst of a thousand takes 17 minutes.
            wait = Duration.minutes(30 if handler == "submissions" else 15)
            observability.watch_queue(title[handler], queue, wait)
        for spec in FUNCTIONS:
            observability.watch_function(
                title[spec.handler], fn[spec.handler], Duration.seconds(spec.timeout_seconds)
            )
        observability.watch_api(api.rest_api)
        # Each function container holds one connection; twice what they may all hold is something else connecting.
        connections = 2 * sum(spec.reserved_concurrency or 1 for spec in FUNCTIONS)
        observability.watch_database(database.cluster, connections)
        observability.watch_builds(builds.project)
        observability.watch_trainforge()
        observability.dashboard(
            functions={title[name]: function for name, function in fn.items()},
            queues={title[name]: queue for name, queue in routing.queues.items()},
            dead_letters={"RuleDelivery": routing.rule_dead_letters, "Reconcile": reconcile_failures,
                          **{title[name]: queue for name, queue in routing.dead_letters.items()}},
            api=api.rest_api, cluster=database.cluster,
        )  # fmt: skip

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, production: bool, layer_dir: Path, python_version: str,
        snapstart: bool = False, teams: Sequence[TeamDefinition] = (), admin_principals: Sequence[str] = (),
        training_in_vpc: bool = False, public_api_url: str | None = None, backup_copy_vault_arn: str | None = None,
        lean: bool = False, alarm_channel: str | None = None, **kwargs: object,
    ) -> None:  # fmt: skip
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        network = TrainforgeNetwork(self, "Network", production=production, lean=lean)
        storage = TrainforgeStorage(self, "Storage", production=production)
        database = TrainforgeDatabase(self, "Database", vpc=network.vpc, production=production, key=storage.key,
                                      backup_copy_vault_arn=backup_copy_vault_arn, proxy=not lean)  # fmt: skip
        builds = TrainforgeImageBuilds(
            self, "ImageBuilds", project_name=f"trainforge-{stage}-image-builds", sources=storage.artifacts,
            source_prefix=BUILD_SOURCE_PREFIX, repository=storage.repository, key=storage.key,
        )  # fmt: skip
        sagemaker = TrainforgeSageMakerAccess(
            self, "SageMakerAccess", datasets=storage.datasets, dataset_prefix=DATASET_PREFIX,
            artifacts=storage.artifacts, output_prefix=OUTPUT_PREFIX, repository=storage.repository, key=storage.key,
            vpc=network.vpc if training_in_vpc else None,
        )  # fmt: skip
        boundary = sagemaker.created_role_boundary
        # Trainforge's administrators: whoever may assume this role (the account's IAM decides), and any principal
        # named with -c admin_principals=...
        administrators = iam.Role(
            self, "Administrators", assumed_by=iam.AccountRootPrincipal(),
            description="Trainforge administrators: define teams, see and manage every team's jobs",
        )  # fmt: skip
        team_access = TrainforgeTeamAccess(
            self, "TeamAccess", teams=teams, datasets=storage.datasets, key=storage.key,
            dataset_prefix=DATASET_PREFIX, jobs_prefix=JOBS_PREFIX,
        )  # fmt: skip
        self.team_access = team_access
        environment = {
            "TRAINFORGE_MODE": "aws",
            "DATABASE_SECRET_ARN": database.secret.secret_arn,
            "DATABASE_HOST": database.endpoint,
            "TRAINFORGE_DATASETS_BUCKET": storage.datasets.bucket_name,
            "TRAINFORGE_ARTIFACTS_BUCKET": storage.artifacts.bucket_name,
            "TRAINFORGE_DATASET_PREFIX": DATASET_PREFIX,
            "TRAINFORGE_JOBS_PREFIX": JOBS_PREFIX,
            "TRAINFORGE_OUTPUT_PREFIX": OUTPUT_PREFIX,
            "TRAINFORGE_BUILD_SOURCE_PREFIX": BUILD_SOURCE_PREFIX,
            "TRAINFORGE_EXECUTION_ROLE_ARN": sagemaker.execution_role.role_arn,
            "TRAINFORGE_ECR_REPOSITORY_URI": storage.repository.repository_uri,
            "TRAINFORGE_CODEBUILD_PROJECT": builds.project.project_name,
            "TRAINFORGE_ROLE_PERMISSIONS_BOUNDARY_ARN": boundary.managed_policy_arn,
            "TRAINFORGE_TRAINING_ENVIRONMENT": "sagemaker",
            "TRAINFORGE_ADMIN_PRINCIPALS": ",".join([administrators.role_arn, *admin_principals]),
            **self._training_network(sagemaker),
            "POWERTOOLS_METRICS_NAMESPACE": "Trainforge",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **({"TRAINFORGE_PUBLIC_API_URL": public_api_url} if public_api_url else {}),
        }
        functions = TrainforgeFunctions(
            self, "Functions", specs=FUNCTIONS, layer_dir=layer_dir, python_version=python_version,
            vpc=network.vpc, environment=environment, snapstart=snapstart, key=storage.key,
        )  # fmt: skip
        fn = functions.functions
        database.allow_from(functions.security_group)
        for function in fn.values():
            database.secret.grant_read(function)

        training_jobs = self.format_arn(service="sagemaker", resource="training-job", resource_name="*")
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")

        def allow(
            handler: str, sid: str, actions: list[str], resources: list[str], **conditions: object
        ) -> None:
            fn[handler].add_to_role_policy(
                iam.PolicyStatement(
                    sid=sid, actions=actions, resources=resources, conditions=conditions or None
                )
            )

        datasets_objects = storage.datasets.arn_for_objects
        # Submission worker: read what was dropped, create (tagged) jobs, pass only the execution role, only to SageMaker.
        allow("submissions", "ReadDrops", ["s3:GetObject", "s3:GetObjectVersion"],
              [datasets_objects(f"{DATASET_PREFIX}*"), datasets_objects(f"{JOBS_PREFIX}*")])  # fmt: skip
        # Before CreateTrainingJob: check the dataset's files are all there (list, head), then write one manifest
        # per channel listing exactly them, beside the job's output (where the execution role reads).
        allow("submissions", "ListDatasets", ["s3:ListBucket"], [storage.datasets.bucket_arn],
              StringLike={"s3:prefix": [f"{DATASET_PREFIX}*"]})  # fmt: skip
        allow("submissions", "WriteChannelManifests", ["s3:PutObject"],
              [storage.artifacts.arn_for_objects(f"{OUTPUT_PREFIX}*/input/*.manifest")])  # fmt: skip
        allow("submissions", "CreateTaggedTrainingJobs", ["sagemaker:CreateTrainingJob", "sagemaker:AddTags"],
              [training_jobs], StringEquals={"aws:RequestTag/trainforge:managed": "true"})  # fmt: skip
        allow("submissions", "DescribeTrainingJobs", ["sagemaker:DescribeTrainingJob"], [training_jobs])
        # Tuning jobs go through the same worker and the same tag condition; SageMaker starts their trials itself.
        tuning_jobs = self.format_arn(
            service="sagemaker", resource="hyper-parameter-tuning-job", resource_name="*"
        )
        allow("submissions", "CreateTaggedTuningJobs",
              ["sagemaker:CreateHyperParameterTuningJob", "sagemaker:AddTags"], [tuning_jobs],
              StringEquals={"aws:RequestTag/trainforge:managed": "true"})  # fmt: skip
        for handler in ("submissions", "reconcile"):
            allow(handler, "DescribeTuningJobs", ["sagemaker:DescribeHyperParameterTuningJob"], [tuning_jobs])
        allow("api", "StopTrainforgeTuningJobs", ["sagemaker:StopHyperParameterTuningJob"], [tuning_jobs],
              StringEquals={"aws:ResourceTag/trainforge:managed": "true"})  # fmt: skip
        sagemaker.allow_pass_to_sagemaker(fn["submissions"])
        # State and reconciliation read SageMaker (every job in the account: the ledger records external ones too).
        for handler in ("training_state", "reconcile", "api"):
            allow(handler, "DescribeTrainingJobs", ["sagemaker:DescribeTrainingJob"], [training_jobs])
        allow("api", "StopTrainforgeJobs", ["sagemaker:StopTrainingJob"], [training_jobs],
              StringEquals={"aws:ResourceTag/trainforge:managed": "true"})  # fmt: skip
        # A job's end admits the jobs waiting for its instances and requests their submission, as the schedule does.
        for handler in ("api", "reconcile", "training_state"):
            allow(handler, "RequestSubmissions", ["events:PutEvents"], [default_bus.event_bus_arn],
                  StringEquals={"events:source": "trainforge"})  # fmt: skip
        # Notices: webhook secrets only under trainforge/webhooks/, and the teams' email topics only.
        allow("notifications", "ReadWebhookSecrets", ["secretsmanager:GetSecretValue"],
              [f"arn:{self.partition}:secretsmanager:{self.region}:{self.account}:secret:trainforge/webhooks/*"])  # fmt: skip
        allow("notifications", "PublishTeamNotices", ["sns:Publish"],
              [f"arn:{self.partition}:sns:{self.region}:{self.account}:trainforge-team-*"])  # fmt: skip
        notices = TrainforgeTeamNotices(self, "TeamNotices", teams=teams)
        notices.allow_publishing(fn["notifications"])
        self.team_notices = notices
        # Trainforge's own events (the outbox's relay runs after each handler's work, and on the schedule).
        for handler in ("submissions", "build_state"):
            allow(handler, "PublishTrainforgeEvents", ["events:PutEvents"], [default_bus.event_bus_arn],
                  StringEquals={"events:source": "trainforge"})  # fmt: skip
        # The capacity sweep: the account's instance quotas, and SageMaker's prices from the Price List (neither
        # action has a resource type: both are read-only).
        allow("reconcile", "ReadQuotas", ["servicequotas:ListServiceQuotas"], ["*"])
        allow("reconcile", "ReadPrices", ["pricing:GetProducts"], ["*"])
        # A dry run checks that the job's image is in the repository.
        allow("api", "CheckImages", ["ecr:DescribeImages"], [storage.repository.repository_arn])
        # The API: presigned dataset uploads, build sources, image builds and configuration checks.
        allow(
            "api",
            "PresignDatasetUploads",
            ["s3:PutObject", "s3:GetObject"],
            [datasets_objects(f"{DATASET_PREFIX}*")],
        )
        # A finished job's archives, as presigned downloads (trainforge download).
        allow(
            "api",
            "PresignArtifactDownloads",
            ["s3:GetObject"],
            [storage.artifacts.arn_for_objects(f"{OUTPUT_PREFIX}*/output/*.tar.gz")],
        )
        allow(
            "api",
            "UploadBuildSources",
            ["s3:PutObject"],
            [storage.artifacts.arn_for_objects(f"{BUILD_SOURCE_PREFIX}*")],
        )
        allow(
            "api",
            "HeadBuckets",
            ["s3:ListBucket"],
            [storage.datasets.bucket_arn, storage.artifacts.bucket_arn],
        )
        allow(
            "api",
            "StartImageBuilds",
            ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
            [builds.project.project_arn],
        )
        allow("api", "CheckRepository", ["ecr:DescribeRepositories"], [storage.repository.repository_arn])
        allow("api", "CheckExecutionRole", ["iam:GetRole"], [sagemaker.execution_role.role_arn])
        created_roles = self.format_arn(
            service="iam", region="", resource="role", resource_name=f"{ROLE_PATH.strip('/')}/*"
        )
        allow("api", "CreateBoundedExecutionRoles", ["iam:CreateRole"], [created_roles],
              StringEquals={"iam:PermissionsBoundary": boundary.managed_policy_arn})  # fmt: skip
        allow("api", "MaintainCreatedRoles", ["iam:GetRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy",
              "iam:TagRole"], [created_roles])  # fmt: skip
        allow("api", "ReadQuotas", ["servicequotas:ListServiceQuotas"], ["*"])
        # Training logs: read-only, SageMaker's log group only (its streams are named per job and instance).
        training_logs = self.format_arn(service="logs", resource="log-group",
                                        resource_name="/aws/sagemaker/TrainingJobs:*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)  # fmt: skip
        allow("api", "ReadTrainingLogs", ["logs:DescribeLogStreams", "logs:FilterLogEvents"], [training_logs])
        # Metric curves: ListMetrics and GetMetricData have no resource types (read-only).
        allow("api", "ReadTrainingMetrics", ["cloudwatch:ListMetrics", "cloudwatch:GetMetricData"], ["*"])
        allow("training_state", "ReadFailedJobsLogTail", ["logs:DescribeLogStreams", "logs:GetLogEvents"],
              [training_logs])  # fmt: skip
        for handler in ("api", "submissions"):
            allow(handler, "DataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [storage.key.key_arn])

        observability = TrainforgeObservability(self, "Observability", stage=stage, key=storage.key)
        if alarm_channel:
            observability.tell_chat(alarm_channel)
        # CloudWatch publishes alarms to the encrypted alarm topic: this account's Trainforge alarms only.
        storage.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisStack",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # a key policy's resource is the key itself
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self.format_arn(
                        service="cloudwatch", resource="alarm", resource_name=f"trainforge-{stage}-*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME)},
                },
            )
        )  # fmt: skip
        log_policy.apply(self, storage.key, production)
        review_scanner_findings(self, stage)
        routing = TrainforgeEventRouting(self, "EventRouting")
        TrainforgeEventSchemas(self, "EventSchemas", registry_name=f"trainforge-{stage}")
        for route in event_routes(
            datasets_bucket=storage.datasets.bucket_name,
            dataset_prefix=DATASET_PREFIX,
            jobs_prefix=JOBS_PREFIX,
            codebuild_project=builds.project.project_name,
        ):
            submissions = route.handler == "submissions"
            routing.route(route, fn[route.handler], batch_size=5 if submissions else 10,
                          max_concurrency=2 if submissions else None,
                          entry_point=functions.entry_points[route.handler])  # fmt: skip

        reconcile_failures = sqs.Queue(
            self, "ReconcileInvocationFailures", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=Duration.days(14),
        )  # fmt: skip
        events.Rule(
            self,
            "ReconcileSchedule",
            description="heal training jobs whose state-change events went missing",
            # Lean: hourly, so that the database is left to pause between runs (every run connects to it).
            schedule=events.Schedule.rate(Duration.minutes(60 if lean else 5)),
            targets=[
                targets.LambdaFunction(
                    functions.entry_points["reconcile"],
                    dead_letter_queue=reconcile_failures,
                    retry_attempts=2,
                )
            ],
        )
        # The schedule invokes reconcile asynchronously: a run that fails after Lambda's retries lands beside the
        # schedule's own delivery failures, where an alarm sees it.
        functions.entry_points["reconcile"].configure_async_invoke(
            on_failure=destinations.SqsDestination(reconcile_failures), retry_attempts=2
        )
        api = TrainforgeApi(self, "Api", function=functions.entry_points["api"], stage_name=stage)
        administrators.add_to_policy(
            iam.PolicyStatement(
                sid="CallTheApi",
                actions=["execute-api:Invoke"],
                resources=[api.rest_api.arn_for_execute_api()],
            )
        )
        migration = TrainforgeSchemaMigration(self, "SchemaMigration", function=fn["migrate"])
        migration.resource.node.add_dependency(database.proxy or database.cluster)
        migration.resource.node.add_dependency(network.vpc)

        self._watch(observability, fn, routing, reconcile_failures, api, database, builds)
        CfnOutput(self, "ApiUrl", value=api.rest_api.url)
        CfnOutput(self, "AlarmTopicArn", value=observability.topic.topic_arn,
                  description="subscribe to hear of every alarm and its recovery (docs/runbook.md)")  # fmt: skip
        CfnOutput(self, "DashboardName", value=f"trainforge-{stage}")
        CfnOutput(self, "DatasetsBucketName", value=storage.datasets.bucket_name)
        CfnOutput(self, "ArtifactsBucketName", value=storage.artifacts.bucket_name)
        CfnOutput(self, "EcrRepositoryUri", value=storage.repository.repository_uri)
        CfnOutput(self, "ExecutionRoleArn", value=sagemaker.execution_role.role_arn)
        CfnOutput(self, "DatabaseName", value=DATABASE_NAME)
        CfnOutput(self, "AdministratorsRoleArn", value=administrators.role_arn)
        self.functions = functions
        self.routing = routing
        self.observability = observability
        suppress_reviewed_findings(
            self, functions=functions, database=database, storage=storage, builds=builds, api=api,
            migration=migration, production=production, routing=routing, reconcile_failures=reconcile_failures,
            network=network,
            python_version=python_version, administrators=administrators,
        )  # fmt: skip
