"""Aurora PostgreSQL Serverless v2 behind an RDS Proxy, its credentials in Secrets Manager with rotation, and the
ledger's backups: in every stage a final snapshot when the cluster is deleted; in prod, continuous backups for
point-in-time restore over the last 14 days (the retention), deletion protection, and an AWS Backup plan (daily,
kept 35 days, copied to another region's vault when ``backup_copy_vault_arn`` names one)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

DATABASE_NAME = "trainforge"
# Aurora restores to any second within its backup retention (point-in-time restore).
RESTORE_WINDOW_DAYS = {True: 14, False: 1}  # production, dev
BACKUP_PLAN_DAYS = 35


class TrainforgeDatabase(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, production: bool, key: kms.IKey,
        backup_copy_vault_arn: str | None = None, proxy: bool = True,
    ) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        self.cluster_security_group = ec2.SecurityGroup(
            self, "ClusterSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description="Aurora: reachable only from the RDS Proxy" if proxy else "Aurora: reachable only from the functions",
        )  # fmt: skip
        self.proxy_security_group = None
        if proxy:
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
            credentials=rds.Credentials.from_generated_secret("trainforge_admin", encryption_key=key),
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
            # Dev's ledger is deleted with its stack, but a final snapshot keeps it (restorable, at storage cost).
            removal_policy=RemovalPolicy.RETAIN if production else RemovalPolicy.SNAPSHOT,
            backup=rds.BackupProps(retention=Duration.days(RESTORE_WINDOW_DAYS[production])),
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(
                60
            ),  # enhanced monitoring: the OS's view, beside the engine's
            cloudwatch_logs_retention=logs.RetentionDays.ONE_MONTH,
        )
        if production:
            self._backup_plan(key, backup_copy_vault_arn)
        assert self.cluster.secret is not None
        self.secret = self.cluster.secret
        self.cluster.add_rotation_single_user(automatically_after=Duration.days(30))
        # Without the proxy (the lean profile), the functions connect to the writer themselves, over TLS: at most
        # their reserved concurrency, and nothing holds a connection open while they idle, so the writer pauses.
        self.proxy = (
            self.cluster.add_proxy(
                "Proxy",
                # unique in the account and region, as RDS requires: a dev and a prod stack may share them
                db_proxy_name=f"{Stack.of(self).stack_name}-proxy".lower(),
                secrets=[self.secret],
                vpc=vpc,
                vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
                security_groups=[self.proxy_security_group] if self.proxy_security_group else None,
                require_tls=True,
                borrow_timeout=Duration.seconds(30),
            )
            if proxy
            else None
        )
        self.endpoint = self.proxy.endpoint if self.proxy else self.cluster.cluster_endpoint.hostname
        # what the functions' security group is let into: the proxy, or the cluster itself
        self.entry_security_group = self.proxy_security_group or self.cluster_security_group
        if self.proxy_security_group is not None:
            self.cluster_security_group.add_ingress_rule(
                self.proxy_security_group, ec2.Port.tcp(5432), "RDS Proxy to Aurora"
            )
            self.proxy_security_group.add_egress_rule(
                self.cluster_security_group, ec2.Port.tcp(5432), "RDS Proxy to Aurora"
            )

    def _backup_plan(self, key: kms.IKey, copy_vault_arn: str | None) -> None:
        """Daily AWS Backup recovery points of the cluster, beside Aurora's own continuous backups: they outlive
        the cluster, and can be copied to another region's vault (a region lost, the ledger kept)."""
        vault = backup.BackupVault(
            self, "LedgerVault", encryption_key=key, removal_policy=RemovalPolicy.RETAIN
        )
        copies = (
            [backup.BackupPlanCopyActionProps(
                destination_backup_vault=backup.BackupVault.from_backup_vault_arn(self, "CopyVault", copy_vault_arn),
                delete_after=Duration.days(BACKUP_PLAN_DAYS),
            )]
            if copy_vault_arn
            else None
        )  # fmt: skip
        plan = backup.BackupPlan(self, "LedgerBackups", backup_vault=vault, backup_plan_rules=[
            backup.BackupPlanRule(
                rule_name="Daily", schedule_expression=events.Schedule.cron(hour="3", minute="0"),
                delete_after=Duration.days(BACKUP_PLAN_DAYS), copy_actions=copies,
            )
        ])  # fmt: skip
        plan.add_selection(
            "Ledger", resources=[backup.BackupResource.from_rds_database_cluster(self.cluster)]
        )

    def allow_from(self, peer: ec2.ISecurityGroup) -> None:
        self.entry_security_group.add_ingress_rule(
            peer, ec2.Port.tcp(5432), "Trainforge functions to the database"
        )
        peer.add_egress_rule(
            self.entry_security_group, ec2.Port.tcp(5432), "Trainforge functions to the database"
        )
