"""Aurora PostgreSQL Serverless v2 behind an RDS Proxy, its credentials in Secrets Manager with rotation."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

DATABASE_NAME = "trainforge"


class TrainforgeDatabase(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, production: bool) -> None:
        super().__init__(scope, construct_id)
        self.cluster_security_group = ec2.SecurityGroup(
            self, "ClusterSecurityGroup", vpc=vpc, description="Aurora: reachable only from the RDS Proxy",
            allow_all_outbound=False,
        )  # fmt: skip
        self.proxy_security_group = ec2.SecurityGroup(
            self, "ProxySecurityGroup", vpc=vpc, description="RDS Proxy: reachable only from the Trainforge functions",
            allow_all_outbound=False,
        )  # fmt: skip
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_16_11
            ),
            credentials=rds.Credentials.from_generated_secret("trainforge_admin"),
            default_database_name=DATABASE_NAME,
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            readers=[rds.ClusterInstance.serverless_v2("Reader", scale_with_writer=True)]
            if production
            else [],
            # Dev pauses at 0 ACU when idle (resuming takes ~15 s); production keeps a floor.
            serverless_v2_min_capacity=0.5 if production else 0,
            serverless_v2_max_capacity=16 if production else 2,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.cluster_security_group],
            storage_encrypted=True,
            iam_authentication=True,
            deletion_protection=production,
            removal_policy=RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY,
            backup=rds.BackupProps(retention=Duration.days(14 if production else 1)),
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=logs.RetentionDays.ONE_MONTH,
        )
        assert self.cluster.secret is not None
        self.secret = self.cluster.secret
        self.cluster.add_rotation_single_user(automatically_after=Duration.days(30))
        self.proxy = self.cluster.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.proxy_security_group],
            require_tls=True,
            borrow_timeout=Duration.seconds(30),
        )
        self.cluster_security_group.add_ingress_rule(
            self.proxy_security_group, ec2.Port.tcp(5432), "RDS Proxy to Aurora"
        )
        self.proxy_security_group.add_egress_rule(
            self.cluster_security_group, ec2.Port.tcp(5432), "RDS Proxy to Aurora"
        )

    def allow_from(self, peer: ec2.ISecurityGroup) -> None:
        self.proxy_security_group.add_ingress_rule(
            peer, ec2.Port.tcp(5432), "Trainforge functions to RDS Proxy"
        )
        peer.add_egress_rule(
            self.proxy_security_group, ec2.Port.tcp(5432), "Trainforge functions to RDS Proxy"
        )
