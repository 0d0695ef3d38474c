"""``make deploy``, ``make diff`` and ``make destroy``: the CDK CLI (pinned, through npx) around the app, for one
stage in the account and region of the caller's AWS credentials.

deploy: who am I (STS; no credentials stops here) → the deployer among the administrators, unless
``admin_principals`` is given → bootstrap the environment if it has no CDKToolkit stack → the layer, for the
pinned Lambda runtime → ``cdk deploy`` (the schema migration runs inside it: CloudFormation waits for the custom
resource, and a failed migration rolls the deploy back) → ``trainforge check`` against the new API (health, the
configuration checks, a dry run) → the outputs, and what to do next."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trainforge.models.team_definitions import SESSION_PATTERN

ROOT = Path(__file__).resolve().parent.parent
# The CDK CLI, pinned: the same on every machine (npx fetches it once from the npm registry).
CDK_CLI = "aws-cdk@2.1148.1"
Run = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(command), flush=True)
    return subprocess.run(list(command), cwd=ROOT, text=True, check=False)  # noqa: S603 - our own argv


@dataclass(frozen=True)
class Environment:
    account: str
    region: str
    caller: str


def whoami() -> Environment:
    """The account and region of the credentials and the profile (as the CDK CLI will use them); a clear exit
    when there are none, before anything is built."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

    try:
        session = boto3.session.Session()
        identity = session.client("sts").get_caller_identity()
    except (NoCredentialsError, ProfileNotFound) as missing:
        raise SystemExit(f"no AWS credentials to deploy with ({missing}): run `aws configure` or `aws sso login`, "
                         "or set AWS_PROFILE") from None  # fmt: skip
    except ClientError as refused:
        raise SystemExit(f"AWS refused these credentials: {refused}") from None
    except BotoCoreError as failed:
        raise SystemExit(f"cannot ask AWS who these credentials are: {failed}") from None
    region = session.region_name
    if not region:
        raise SystemExit("no region: set AWS_REGION (or a profile's region) before deploying")
    return Environment(identity["Account"], region, identity["Arn"])


def administrator_pattern(caller: str) -> str:
    """The deployer as Trainforge's administrators name it: a role's every session, or the user itself."""
    found = SESSION_PATTERN.fullmatch(caller)
    return f"arn:{found['partition']}:iam::{found['account']}:role/{found['role']}" if found else caller


def is_bootstrapped(environment: Environment) -> bool:
    import boto3
    from botocore.exceptions import ClientError

    cloudformation = boto3.client("cloudformation", region_name=environment.region)
    try:
        stacks = cloudformation.describe_stacks(StackName="CDKToolkit")["Stacks"]
    except ClientError:
        return False
    return bool(stacks) and not stacks[0]["StackStatus"].startswith("DELETE")


def cdk(*args: str) -> list[str]:
    return ["npx", "--yes", CDK_CLI, *args]


def context_args(stage: str, context: Sequence[str] = ()) -> list[str]:
    """``-c stage=…`` and each ``key=value`` given (``make deploy CONTEXT="admin_principals=arn:… snapstart=true"``)."""
    return [arg for pair in (f"stage={stage}", *context) for arg in ("-c", pair)]


def deploy_commands(
    stage: str, environment: Environment, bootstrapped: bool, outputs: Path, context: Sequence[str] = ()
) -> list[list[str]]:
    """What ``make deploy`` runs, in order (before the check)."""
    commands = []
    if not bootstrapped:
        commands.append(cdk("bootstrap", f"aws://{environment.account}/{environment.region}"))
    commands.append(cdk("deploy", f"Trainforge-{stage}", *context_args(stage, context), "--require-approval",
                        "never", "--outputs-file", str(outputs)))  # fmt: skip
    return commands


def stack_outputs(outputs: Path, stage: str) -> dict[str, str]:
    found: dict[str, dict[str, str]] = json.loads(outputs.read_text())
    return found[f"Trainforge-{stage}"]


def next_steps(stage: str, outputs: dict[str, str]) -> list[str]:
    return [
        f"export TRAINFORGE_API_URL={outputs['ApiUrl']}",
        f"aws sns subscribe --topic-arn {outputs['AlarmTopicArn']} --protocol email --notification-endpoint YOU@example.com",
        f"administrators: assume {outputs['AdministratorsRoleArn']}, then: trainforge teams apply teams.json",
        f"dashboard: CloudWatch → Dashboards → {outputs['DashboardName']}; alarms: docs/runbook.md",
    ]


def deploy(stage: str, execute: Run = run, context: Sequence[str] = (), build_layer: bool = True) -> int:
    environment = whoami()
    print(f"deploying Trainforge-{stage} to account {environment.account} in {environment.region}, "
          f"as {environment.caller}")  # fmt: skip
    if not any(pair.startswith("admin_principals=") for pair in context):
        # The deployer may do anything in the account already; as an administrator, its smoke check passes.
        admin = administrator_pattern(environment.caller)
        context = [*context, f"admin_principals={admin}"]
        print(
            f"administrators: {admin} and the AdministratorsRoleArn role (CONTEXT=admin_principals=... to choose)"
        )
    if build_layer:
        from stacks.layer_build import build

        build()
    outputs = ROOT / "build" / "deploy" / f"outputs-{stage}.json"  # beside, not in, cdk.out: synth wipes it
    outputs.parent.mkdir(parents=True, exist_ok=True)
    for command in deploy_commands(stage, environment, is_bootstrapped(environment), outputs, context):
        if execute(command).returncode != 0:
            print(f"failed: {' '.join(command)}", file=sys.stderr)
            return 1
    found = stack_outputs(outputs, stage)
    print("\nsmoke check:")
    checked = execute([sys.executable, "-m", "trainforge.cli", "--api-url", found["ApiUrl"], "check"])
    print("\noutputs:")
    for key, value in sorted(found.items()):
        print(f"  {key:<24} {value}")
    print("\nnext:")
    for step in next_steps(stage, found):
        print(f"  {step}")
    return 0 if checked.returncode == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.deploy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("action", choices=["deploy", "diff", "destroy"])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                        help="more CDK context (admin_principals, teams_file, snapstart, training_in_vpc, ...)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.action == "deploy":
        return deploy(args.stage, context=args.context)
    whoami()  # no credentials: say so now, not after a synthesis
    # destroy asks for confirmation itself
    return run(
        cdk(args.action, f"Trainforge-{args.stage}", *context_args(args.stage, args.context))
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
