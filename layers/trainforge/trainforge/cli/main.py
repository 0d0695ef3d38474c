"""`trainforge`: the same verbs against a deployed Trainforge (SigV4-signed) or local mode.

Exit codes: 0 ok; 1 a job (or build, or check) failed or would not be accepted; 2 usage or invalid input (a bad
option, a file that does not parse, an invalid dataset or job, an unknown job, no API URL or credentials); 3 the
API could not be reached or refused (403, 5xx). ``-o json`` (``--output json``) may come before or after the
verb; with it, errors go to stderr as JSON too (``{"error": {"code", "message", "problems"}}``).
"""

from __future__ import annotations

import json
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
