"""`make deploy` up to what runs here: whom it deploys as and whether the environment is bootstrapped, read from
AWS's APIs (moto's server); the CDK CLI commands it runs, in order; the smoke check against the new API; and what
it prints next. The CDK CLI itself is not run (no account)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from stacks import deploy
from trainforge.local.aws.emulator import LocalAws

OUTPUTS = {"ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/",
           "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:alarms", "DashboardName": "trainforge-dev",
           "AdministratorsRoleArn": "arn:aws:iam::123456789012:role/admins"}  # fmt: skip


def test_whom_it_deploys_as_and_whether_to_bootstrap_come_from_aws(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    environment = deploy.whoami()
    assert (environment.account, environment.region) == ("123456789012", "eu-west-1")
    assert deploy.is_bootstrapped(environment) is False
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName="CDKToolkit",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    assert deploy.is_bootstrapped(environment) is True


def test_deploy_bootstraps_once_deploys_checks_and_says_what_next(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment = deploy.Environment("123456789012", "eu-west-1", "arn:aws:iam::123456789012:user/ops")
    monkeypatch.setattr(deploy, "whoami", lambda: environment)
    monkeypatch.setattr(deploy, "is_bootstrapped", lambda _e: False)
    monkeypatch.setattr(deploy, "ROOT", tmp_path)
    ran: list[list[str]] = []

    def execute(command: Sequence[str], check_fails: bool = False) -> subprocess.CompletedProcess[str]:
        ran.append(list(command))
        if "deploy" in command:  # what `cdk deploy --outputs-file` writes
            outputs = Path(command[command.index("--outputs-file") + 1])
            outputs.write_text(json.dumps({"Trainforge-dev": OUTPUTS}))
        failed = check_fails and "check" in command
        return subprocess.CompletedProcess(list(command), 1 if failed else 0)

    assert deploy.deploy("dev", execute, context=["snapstart=true"], build_layer=False) == 0
    assert ran[0] == ["npx", "--yes", deploy.CDK_CLI, "bootstrap", "aws://123456789012/eu-west-1"]
    assert ran[1][:5] == ["npx", "--yes", deploy.CDK_CLI, "deploy", "Trainforge-dev"]
    assert ran[1][5:7] == ["-c", "stage=dev"] and "--require-approval" in ran[1]
    assert ran[2][-3:] == ["--api-url", OUTPUTS["ApiUrl"], "check"]
    printed = capsys.readouterr().out
    assert f"aws sns subscribe --topic-arn {OUTPUTS['AlarmTopicArn']}" in printed
    assert f"export TRAINFORGE_API_URL={OUTPUTS['ApiUrl']}" in printed

    def failing(command: Sequence[str]) -> Any:
        return execute(command, check_fails=True)

    monkeypatch.setattr(deploy, "is_bootstrapped", lambda _e: True)
    ran.clear()
    assert (
        deploy.deploy("dev", failing, build_layer=False) == 1
    )  # a failed smoke check fails the deploy's command
    assert [c[3] for c in ran[:1]] == ["deploy"]  # bootstrapped already: not again


def test_the_deployers_role_every_session_becomes_an_administrator() -> None:
    session = "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/jane@example.com"
    assert deploy.administrator_pattern(session) == "arn:aws:iam::123456789012:role/PlatformAdmin"
    assert (
        deploy.administrator_pattern("arn:aws:iam::123456789012:user/ops")
        == "arn:aws:iam::123456789012:user/ops"
    )


def test_no_credentials_stop_the_deploy_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SystemExit, match=r"no AWS credentials to deploy with .*`aws configure`"):
        deploy.whoami()
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    with pytest.raises(SystemExit, match="no AWS credentials to deploy with"):
        deploy.whoami()
