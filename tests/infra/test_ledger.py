"""The ledger's safety in the synthesized stacks: dev keeps a final snapshot when it is deleted; prod keeps its
14-day point-in-time window, deletion protection and an AWS Backup plan whose daily recovery points outlive the
cluster and are copied to another region's vault when the context names one. Prod is synthesized here (with
cdk-nag) as dev is in conftest.py."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Annotations, Match

from stacks.constructs.database import BACKUP_PLAN_DAYS, RESTORE_WINDOW_DAYS
from tests.infra.conftest import COPY_VAULT


def cluster(template: Any) -> dict[str, Any]:
    (found,) = template.find_resources("AWS::RDS::DBCluster").values()
    return dict(found)


def test_dev_keeps_a_final_snapshot_when_its_stack_is_deleted(template: Any) -> None:
    dev = cluster(template)
    assert dev["DeletionPolicy"] == "Snapshot" and dev["UpdateReplacePolicy"] == "Snapshot"
    assert dev["Properties"]["BackupRetentionPeriod"] == RESTORE_WINDOW_DAYS[False]
    assert template.find_resources("AWS::Backup::BackupPlan") == {}


def test_prod_keeps_its_window_its_protection_and_a_backup_plan_copied_away(
    prod: tuple[Any, Any, str],
) -> None:
    stack, template, _ = prod
    ledger = cluster(template)
    assert ledger["DeletionPolicy"] == "Retain"
    assert ledger["Properties"]["DeletionProtection"] is True
    assert ledger["Properties"]["BackupRetentionPeriod"] == RESTORE_WINDOW_DAYS[True] == 14
    (plan,) = template.find_resources("AWS::Backup::BackupPlan").values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == BACKUP_PLAN_DAYS
    (copy,) = rule["CopyActions"]
    assert (
        copy["DestinationBackupVaultArn"] == COPY_VAULT
        and copy["Lifecycle"]["DeleteAfterDays"] == BACKUP_PLAN_DAYS
    )
    (vault,) = template.find_resources("AWS::Backup::BackupVault").values()
    assert vault["DeletionPolicy"] == "Retain" and "EncryptionKeyArn" in vault["Properties"]
    (selection,) = template.find_resources("AWS::Backup::BackupSelection").values()
    (resource,) = selection["Properties"]["BackupSelection"]["Resources"]
    assert "DatabaseCluster" in str(resource)
    annotations = Annotations.from_stack(stack)
    assert [
        e.entry.data for e in annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    ] == []


def test_each_stage_names_its_proxy_apart(template: Any, prod: tuple[Any, Any, str]) -> None:
    names = [next(iter(t.find_resources("AWS::RDS::DBProxy").values()))["Properties"]["DBProxyName"]
             for t in (template, prod[1])]  # fmt: skip
    assert names == ["trainforge-dev-proxy", "trainforge-prod-proxy"]  # RDS wants them unique in a region
