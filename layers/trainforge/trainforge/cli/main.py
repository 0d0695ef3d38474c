"""`trainforge`: the same verbs against a deployed Trainforge (SigV4-signed) or local mode.

Exit codes: 0 ok; 1 a job (or build, or check) failed or would not be accepted; 2 usage or invalid input (a bad
option, a file that does not parse, an invalid dataset or job, an unknown job, no API URL or credentials); 3 the
API could not be reached or refused (403, 5xx). ``-o json`` (``--output json``) may come before or after the
verb; with it, errors go to stderr as JSON too (``{"error": {"code", "message", "problems"}}``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from trainforge.cli.builds import build, builds
from trainforge.cli.client import ApiError
from trainforge.cli.console import console
from trainforge.cli.context import EXIT_API, EXIT_FAILED, EXIT_USAGE, CliError, Context, pass_context
from trainforge.cli.datasets import upload
from trainforge.cli.jobs import cancel, download, list_jobs, logs, metrics, status, submit, watch
from trainforge.cli.output import table
from trainforge.cli.teams import notifications as notifications_group
from trainforge.cli.teams import teams as teams_group
from trainforge.cli.teams import usage as usage_command
from trainforge.cli.tuning import tune, tuning_cancel, tuning_status, tunings
from trainforge.local.discovery import running_api_url

USAGE_STATUSES = (400, 404, 409, 413, 415, 422)  # the caller's input was refused: fix the command, exit 2


@click.group()
@click.option(
    "--api-url",
    envvar="TRAINFORGE_API_URL",
    default="",
    help="the stack's ApiUrl output, or local mode's URL",
)
@click.option("--region", default=None, help="region for request signing (default: the API URL's)")
@click.option("--profile", envvar="AWS_PROFILE", default=None, help="AWS profile for request signing")
@click.option(
    "--output", "-o", type=click.Choice(["table", "json"]), default="table",
    help="json for scripts (before or after the verb)",
)  # fmt: skip
@click.option(
    "--principal", default=None, help="local mode only: act as this IAM principal (a team's member)"
)
@click.version_option(package_name="trainforge")
@click.pass_context
def cli(ctx: click.Context, api_url: str, region: str | None, profile: str | None, output: str,
        principal: str | None) -> None:  # fmt: skip
    """Trainforge: SageMaker training from the terminal. Without --api-url or TRAINFORGE_API_URL it talks to the
    local mode running here (make local, in this folder or one above it)."""
    ctx.obj = Context(api_url or running_api_url(Path.cwd()) or "", region, profile, output, principal)


@cli.command()
@pass_context
def validate(obj: Context) -> None:
    """Configuration checks, failures first, each with its fix."""
    report = obj.client.request("GET", "/config/validation")
    order = {False: 0, None: 1, True: 2}
    checks = sorted(report["checks"], key=lambda c: order[c["ok"]])

    def human() -> None:
        rows = [{**c, "result": {False: "FAIL", None: "unknown", True: "ok"}[c["ok"]]} for c in checks]
        table(rows, [("result", "RESULT"), ("name", "CHECK"), ("detail", "DETAIL"), ("fix", "FIX")])

    obj.emit({**report, "checks": checks}, human)
    if not report["valid"]:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option(
    "--dataset",
    "dataset_uri",
    default=None,
    help="the dry run's dataset (default: s3://<datasets bucket>/datasets/smoke-check/, which need not exist)",
)
@click.option("--instance-type", default=None, help="the dry run's instance type (default: the deployment's)")
@pass_context
def check(obj: Context, dataset_uri: str | None, instance_type: str | None) -> None:
    """After a deploy: liveness with the database, the configuration checks, and a dry run of a job (nothing is
    recorded or sent). Exit 0 when all three pass; `make deploy` runs it."""
    client = obj.client
    health = client.request("GET", "/health")
    report = client.request("GET", "/config/validation")
    if dataset_uri is None:  # the bucket the configuration checks found ("bucket <name> exists ...")
        named = [
            re.search(r"bucket (\S+)", c["detail"])
            for c in report["checks"]
            if c["name"] == "datasets_bucket"
        ]
        bucket = named[0].group(1) if named and named[0] else "trainforge-datasets"
        dataset_uri = f"s3://{bucket}/datasets/smoke-check/"
    job = {"job_name": "smoke-check", "dataset_uri": dataset_uri, "max_runtime_seconds": 600,
           **({"instance_type": instance_type} if instance_type else {})}  # fmt: skip
    dry_run = client.request("POST", "/jobs/dry-run", job)
    failed = [c for c in report["checks"] if c["ok"] is False]
    passed = health["status"] == "ok" and health["database"] and not failed
    result = {"passed": passed, "health": health, "failed_checks": failed, "dry_run": dry_run}

    def human() -> None:
        click.echo(f"health: {health['status']} (database {'answers' if health['database'] else 'DOES NOT ANSWER'}, "
                   f"version {health['version']})")  # fmt: skip
        unknown = sum(c["ok"] is None for c in report["checks"])
        click.echo(f"configuration: {len(report['checks']) - len(failed) - unknown} checks pass, {unknown} could "
                   f"not be checked, {len(failed)} fail")  # fmt: skip
        for c in failed:
            click.echo(f"  FAIL {c['name']}: {c['detail']} (fix: {c.get('fix') or '-'})")
        ceiling = dry_run.get("cost_ceiling_usd")
        click.echo(f"dry run: {dry_run['job_name']} on {dry_run['instance_type']} x{dry_run['instance_count']}, "
                   f"cost ceiling ${ceiling}, pool {dry_run['capacity']['pool']} "
                   f"({dry_run['capacity']['in_use']} in use of {dry_run['capacity']['limit'] or '?'})")  # fmt: skip
        for problem in (
            dry_run.get("problems") or []
        ):  # the job's own (its image, its name): not the deployment's
            click.echo(
                f"  note: this job would not be accepted as is: {problem['field']}: {problem['message']}"
            )
        click.echo("check passed" if passed else "check FAILED")

    obj.emit(result, human)
    if not passed:
        sys.exit(EXIT_FAILED)


for command in (upload, submit, status, watch, logs, metrics, list_jobs, cancel, download, build, builds,
                teams_group, usage_command, notifications_group, tune, tunings, tuning_status,
                tuning_cancel, console):  # fmt: skip
    cli.add_command(command)


OUTPUT_FLAGS = ("-o", "--output")


def hoist_output(args: list[str]) -> list[str]:
    """``-o json`` wherever it is written moves before the verb, where the group reads it."""
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        if arg in OUTPUT_FLAGS and index + 1 < len(args):
            moved += [arg, args[index + 1]]
            index += 2
            continue
        if arg.startswith("--output=") or (
            arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--")
        ):
            moved.append(arg)
        else:
            rest.append(arg)
        index += 1
    return moved + rest


def wants_json(args: list[str]) -> bool:
    for index, arg in enumerate(args):
        if arg in OUTPUT_FLAGS and index + 1 < len(args):
            return args[index + 1] == "json"
        if arg in ("--output=json", "-ojson"):
            return True
    return False


def report(code: str, message: str, problems: list[dict[str, str]], *, as_json: bool) -> None:
    """An error on stderr: a line, then every problem with its field; or the API's envelope as JSON."""
    if as_json:
        click.echo(json.dumps({"error": {"code": code, "message": message, "problems": problems}}), err=True)
        return
    click.echo(f"error: {message}", err=True)
    if len(problems) > 1 or (problems and str(problems[0].get("message")) not in message):
        for problem in problems:
            click.echo(f"  {problem.get('field', '?')}: {problem.get('message', '')}", err=True)


def main(argv: list[str] | None = None) -> None:
    args = hoist_output(list(sys.argv[1:] if argv is None else argv))
    as_json = wants_json(args)
    try:
        returned = cli.main(args=args, prog_name="trainforge", standalone_mode=False)
        if isinstance(returned, int) and returned:  # --help, --version and ctx.exit(code) come back as codes
            sys.exit(returned)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        report("aborted", "aborted", [], as_json=as_json)
        sys.exit(EXIT_FAILED)
    except click.ClickException as exc:  # a bad option or argument
        if as_json:
            report("bad_usage", exc.format_message(), [], as_json=True)
        else:
            exc.show()
        sys.exit(EXIT_USAGE)
    except CliError as exc:
        report(exc.code, exc.message, exc.problems, as_json=as_json)
        sys.exit(exc.exit_code)
    except ApiError as exc:
        message = exc.message + (f" (field: {exc.field})" if exc.field and not exc.problems else "")
        if len(exc.problems) > 1:  # the API's message is the first of them: say how many, then list them all
            message = f"refused, {len(exc.problems)} problems:"
        report(exc.code, message, exc.problems, as_json=as_json)
        usage = exc.status in USAGE_STATUSES or exc.code in (
            "no_api_url",
            "bad_api_url",
            "no_credentials",
            "bad_option",
        )
        sys.exit(EXIT_USAGE if usage else EXIT_API)
