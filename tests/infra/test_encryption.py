"""Keys and logs in the synthesized stacks: every log group encrypted with the stack's key and kept 30 days in dev,
365 in prod; CloudWatch Logs may use the key only for this account's log groups, and CloudWatch only for this
stack's alarms from this account (the alarm topic is encrypted with it)."""

from __future__ import annotations

from typing import Any

from stacks.constructs.log_policy import RETENTION_DAYS


def key_name(template: Any) -> str:
    (name,) = [n for n in template.find_resources("AWS::KMS::Key") if n.startswith("Storage")]
    return str(name)


def test_every_log_group_is_encrypted_and_kept_by_the_stage(
    template: Any, prod: tuple[Any, Any, str]
) -> None:
    for stage_template, production in ((template, False), (prod[1], True)):
        groups = stage_template.find_resources("AWS::Logs::LogGroup")
        assert len(groups) >= 10
        key = key_name(stage_template)
        for name, group in groups.items():
            props = group["Properties"]
            assert props["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}, name
            assert props["RetentionInDays"] == RETENTION_DAYS[production] == (365 if production else 30), name


def test_the_key_serves_cloudwatch_only_for_this_accounts_logs_and_this_stacks_alarms(template: Any) -> None:
    (key,) = [k for n, k in template.find_resources("AWS::KMS::Key").items() if n.startswith("Storage")]
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    alarms = statements["CloudWatchAlarmsOfThisStack"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "alarm:trainforge-dev-*" in str(alarms["Condition"]["ArnLike"]["aws:SourceArn"])
    logs = statements["CloudWatchLogsOfThisAccount"]
    assert "logs.us-east-1.amazonaws.com" in str(logs["Principal"])
    assert "log-group:*" in str(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    unconditioned = [
        s for s in statements.values() if "cloudwatch" in str(s.get("Principal")) and not s.get("Condition")
    ]
    assert unconditioned == []


def test_network_interface_grants_are_scoped_to_this_account_and_region(template: Any) -> None:
    for name, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "VpcNetworkInterfaces":
                assert "ec2:DescribeNetworkInterfaces" not in statement["Action"], name
                assert statement["Resource"] != "*" and ":ec2:us-east-1:" in str(statement["Resource"]), name
