"""One Lambda function per handler in ``lambdas/``: arm64, the layer's Python, tracing on, its own log group and
its own role (logs only to its log group; everything else granted by the stack, per function).

With SnapStart (opt-in: ``-c snapstart=true``, Python 3.12+), each eligible function publishes versions that
start from a snapshot taken after init, and an alias ``live`` points at the newest: the API integration, the
queues' event source mappings and the schedule invoke the alias (``entry_points``), never ``$LATEST``, which
SnapStart does not cover."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FunctionSpec:
    handler: str
    description: str
    timeout_seconds: int = 30
    memory_mb: int = 512
    # The database's connections are bounded by concurrency x 1 connection per container.
    reserved_concurrency: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    # Deploy-time only (the schema migration runs once per deploy): a snapshot would never be reused.
    snapstart: bool = True


SNAPSTART_MIN_PYTHON = (3, 12)


class TrainforgeFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        specs: list[FunctionSpec],
        layer_dir: Path,
        python_version: str,
        vpc: ec2.IVpc,
        environment: dict[str, str],
        snapstart: bool = False,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = key  # the environment's encryption (the stack's key; None: Lambda's own)
        self.snapstart = snapstart
        snapstart_capable = tuple(int(part) for part in python_version.split(".")) >= SNAPSTART_MIN_PYTHON
        runtime = lambda_.Runtime(
            f"python{python_version}", lambda_.RuntimeFamily.PYTHON, supports_snap_start=snapstart_capable
        )
        if snapstart and not snapstart_capable:
            raise ValueError(
                f"SnapStart for Python needs Python 3.12 or newer; the layer is built for {python_version} "
                "(set TRAINFORGE_LAMBDA_PYTHON=3.12 or newer, or deploy without -c snapstart=true)"
            )
        self.runtime = runtime
        self.layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=[".fingerprint", "runtime-version"]),
            compatible_runtimes=[runtime],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="trainforge and its dependencies",
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "FunctionsSecurityGroup",
            vpc=vpc,
            description="Trainforge functions",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs over HTTPS")
        self.functions: dict[str, lambda_.Function] = {}
        # What invokers call: the function itself, or with SnapStart its ``live`` alias.
        self.entry_points: dict[str, lambda_.IFunction] = {}
        for spec in specs:
            function = self._function(spec, runtime, vpc, environment)
            self.functions[spec.handler] = function
            self.entry_points[spec.handler] = function
            if snapstart and spec.snapstart:
                self.entry_points[spec.handler] = lambda_.Alias(
                    self,
                    f"{spec.handler.replace('_', '-')}-live",
                    alias_name="live",
                    version=function.current_version,
                    description="the newest published version, started from its SnapStart snapshot",
                )

    def _function(
        self, spec: FunctionSpec, runtime: lambda_.Runtime, vpc: ec2.IVpc, environment: dict[str, str]
    ) -> lambda_.Function:
        name = spec.handler.replace("_", "-")
        log_group = logs.LogGroup(self, f"{name}-logs", retention=logs.RetentionDays.ONE_MONTH)
        role = iam.Role(
            self,
            f"{name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Trainforge {spec.handler} function",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:*"],
            )
        )
        # Lambda manages the function's network interfaces with these (AWS's Lambda guide: Describe works only on
        # "*"; the others on this account's and region's EC2 resources).
        role.add_to_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=[Stack.of(self).format_arn(service="ec2", resource="*", resource_name="*")],
            )
        )
        if self.key is not None:  # the environment is encrypted with it; the function reads it at init
            self.key.grant_decrypt(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeNetworkInterfaces", actions=["ec2:DescribeNetworkInterfaces"], resources=["*"]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="Tracing",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],  # X-Ray has no resource types
            )
        )
        snap_start = (
            lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if self.snapstart and spec.snapstart else None
        )
        function = lambda_.Function(
            self,
            name,
            description=spec.description,
            runtime=runtime,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(
                str(ROOT / "lambdas" / spec.handler), exclude=["__pycache__", "*.pyc"]
            ),
            layers=[self.layer],
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            reserved_concurrent_executions=spec.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
            environment={**environment, **spec.environment, "POWERTOOLS_SERVICE_NAME": "trainforge"},
            environment_encryption=self.key,
            snap_start=snap_start,
        )
        return function
