"""CDK entry point: reads the stage from context, builds the stack, applies cdk-nag's AwsSolutions checks.

`python app.py` synthesizes offline into $CDK_OUTDIR (set by the CDK CLI) or ./cdk.out. The Lambda layer must
be built first (`make layer`): synthesis never downloads anything.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.layer_build import OUTPUT, built_version
from stacks.trainforge_stack import TrainforgeStack
from trainforge.errors import SageMakerConfigurationError
from trainforge.models.team_definitions import load_teams_file


def cdk_json_context() -> dict[str, object]:
    """cdk.json's context: the CDK CLI passes it in; `python app.py` alone reads it here, so both agree."""
    if os.environ.get("CDK_CONTEXT_JSON"):
        return {}
    with open(Path(__file__).with_name("cdk.json")) as handle:
        context: dict[str, object] = json.load(handle).get("context", {})
    return context


def build_app(
    outdir: str | None = None, context: dict[str, object] | None = None
) -> tuple[cdk.App, TrainforgeStack]:
    app = cdk.App(
        outdir=outdir or os.environ.get("CDK_OUTDIR") or "cdk.out",
        context={**cdk_json_context(), **(context or {})},
    )
    stage = str(app.node.try_get_context("stage") or "dev")
    # `-c snapstart=true` (the CLI passes a string; cdk.json or tests may pass a bool)
    snapstart = str(app.node.try_get_context("snapstart") or "false").lower() in ("true", "1", "yes")
    production = stage == "prod"
    # -c teams_file=teams.json: the teams whose S3 permissions the stack generates (the API holds the same
    # definitions: `trainforge teams apply teams.json`); -c admin_principals=arn,arn: more administrators.
    teams_file = app.node.try_get_context("teams_file")
    try:
        teams = load_teams_file(str(teams_file)) if teams_file else []
    except (SageMakerConfigurationError, ValueError) as refused:  # said with the file's name, not a traceback
        raise SystemExit(f"{teams_file}: {getattr(refused, 'message', refused)}") from None
    admins = [p for p in str(app.node.try_get_context("admin_principals") or "").split(",") if p.strip()]
    # -c api_url=https://trainforge.example.com: the API's address as users reach it (a custom domain), which
    # Trainforge's events link to; the functions cannot read their own API's URL without a dependency cycle.
    api_url = app.node.try_get_context("api_url")
    # -c backup_copy_vault_arn=arn:aws:backup:<other region>:<account>:backup-vault:<name>: prod's daily backups
    # are copied there too (the vault must exist and accept copies from this account).
    copy_vault = app.node.try_get_context("backup_copy_vault_arn")
    # -c profile=lean: the lowest idle cost (a NAT instance, no RDS Proxy, so the database can pause): docs/cost.md
    profile = str(app.node.try_get_context("profile") or "standard")
    # -c alarm_channel=slack:<workspace>/<channel> (or msteams:<tenant>/<team>/<channel>): alarms in chat too
    alarm_channel = app.node.try_get_context("alarm_channel")
    if profile not in ("standard", "lean"):
        raise SystemExit(f"-c profile={profile}: the profiles are standard and lean (docs/cost.md)")
    stack = TrainforgeStack(
        app,
        f"Trainforge-{stage}",
        stage=stage,
        production=production,
        layer_dir=OUTPUT,
        python_version=built_version(OUTPUT),
        snapstart=snapstart,
        teams=teams,
        public_api_url=str(api_url) if api_url else None,
        backup_copy_vault_arn=str(copy_vault) if copy_vault else None,
        lean=profile == "lean",
        alarm_channel=str(alarm_channel) if alarm_channel else None,
        admin_principals=[p.strip() for p in admins],
        # -c training_in_vpc=true: jobs naming no VPC run in the stack's private subnets and its security group
        training_in_vpc=str(app.node.try_get_context("training_in_vpc") or "false").lower()
        in ("true", "1", "yes"),
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION", "us-east-1"),
        ),
        description=f"Trainforge ({stage}): serverless control plane for SageMaker training",
    )
    untaggable = ["AWS::RDS::DBProxyTargetGroup"]
    cdk.Tags.of(app).add("project", "trainforge", exclude_resource_types=untaggable)
    cdk.Tags.of(app).add("stage", stage, exclude_resource_types=untaggable)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(reports=True, verbose=True))
    return app, stack


def context_from_arguments(arguments: list[str]) -> dict[str, object]:
    """``-c key=value`` as the CDK CLI takes it, for ``python app.py -c profile=lean`` (and ``make synth CONTEXT=``)."""
    context: dict[str, object] = {}
    for flag, pair in itertools.pairwise(arguments):
        if flag in ("-c", "--context") and "=" in pair:
            key, value = pair.split("=", 1)
            context[key] = value
    return context


def unsuppressed_nag_findings(outdir: str) -> list[str]:
    """cdk-nag's findings no suppression covers, from its reports: synthesis records them but does not fail."""
    import csv

    found = []
    for report in sorted(Path(outdir).glob("AwsSolutions-*-NagReport.csv")):
        with report.open() as handle:
            for row in csv.DictReader(handle):
                if row.get("Compliance") == "Non-Compliant":
                    found.append(f"{row.get('Rule ID')} on {row.get('Resource ID')}: {row.get('Rule Info')}")
    return found


if __name__ == "__main__":
    import sys

    application, _ = build_app(context=context_from_arguments(sys.argv[1:]))
    assembly = application.synth()
    findings = unsuppressed_nag_findings(assembly.directory)
    for finding in findings:
        print(f"cdk-nag: {finding}", file=sys.stderr)
    if findings:
        sys.exit(
            f"{len(findings)} cdk-nag findings with no reviewed suppression (stacks/nag_suppressions.py)"
        )
    print(f"synthesized into {assembly.directory}: cdk-nag's AwsSolutions checks pass (every finding suppressed "
          "with its reason)", file=sys.stderr)  # fmt: skip
