"""`trainforge`: the same verbs against a deployed Trainforge (SigV4-signed) or local mode.

Exit codes: 0 ok; 1 a job (or build, or check) failed; 2 usage or invalid input (a bad option, an invalid dataset
or job, an unknown job, no API URL or credentials); 3 the API could not be reached or refused (403, 5xx).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import ApiError
from trainforge.cli.context import EXIT_API, EXIT_FAILED, EXIT_USAGE, Context, load_config
from trainforge.cli.output import print_new_logs, show_dry_run, show_job, since_time, table
from trainforge.cli.teams import teams as teams_group
from trainforge.cli.teams import usage as usage_command
from trainforge.cli.tuning import tune, tuning_status
from trainforge.cli.uploads import Uploader
from trainforge.errors import DatasetValidationError

TERMINAL_JOB = ("Completed", "Failed", "Stopped", "Rejected")
TERMINAL_BUILD = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED")


pass_context = click.make_pass_decorator(Context)


class TrainforgeGroup(click.Group):
    """Turns API and input errors into one clear line and an exit code scripts can rely on."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as error:
            where = f" (field: {error.field})" if error.field else ""
            click.echo(f"error: {error.message}{where}", err=True)
            # The caller's input was refused (a conflict, a size or media type too): fix the command, exit 2.
            refused = error.status in (400, 404, 409, 413, 415, 422)
            usage = refused or error.code in ("no_api_url", "bad_api_url", "no_credentials", "bad_option")
            ctx.exit(EXIT_USAGE if usage else EXIT_API)


@click.group(cls=TrainforgeGroup)
@click.option(
    "--api-url",
    envvar="TRAINFORGE_API_URL",
    default="",
    help="the stack's ApiUrl output, or local mode's URL",
)
@click.option("--region", default=None, help="region for request signing (default: the API URL's)")
@click.option("--profile", envvar="AWS_PROFILE", default=None, help="AWS profile for request signing")
@click.option(
    "--output", "-o", type=click.Choice(["table", "json"]), default="table", help="json for scripts"
)
@click.option(
    "--principal", default=None, help="local mode only: act as this IAM principal (a team's member)"
)
@click.version_option(package_name="trainforge")
@click.pass_context
def cli(ctx: click.Context, api_url: str, region: str | None, profile: str | None, output: str,
        principal: str | None) -> None:  # fmt: skip
    """Trainforge: SageMaker training from the terminal."""
    ctx.obj = Context(api_url, region, profile, output, principal)


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
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--metadata", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--prefix", default=None, help="the dataset's name under the datasets prefix (default: the folder's)"
)
@pass_context
def upload(obj: Context, dataset_dir: Path, metadata: Path, prefix: str | None) -> None:
    """Validate a dataset locally, then upload it (resumable; manifest last)."""
    name = prefix or dataset_dir.resolve().name.lower()
    try:
        result = Uploader(obj.client).run(dataset_dir, metadata, name, show_progress=not obj.json)
    except DatasetValidationError as invalid:
        click.echo(f"error: the dataset is not valid ({len(invalid.problems)} problems):", err=True)
        for problem in invalid.problems:
            click.echo(f"  {problem.field}: {problem.message}", err=True)
        sys.exit(EXIT_USAGE)
    except ApiError as error:
        if error.status == 0 or error.code == "upload_refused":
            click.echo(
                f"error: upload interrupted: {error.message}. Run the same command again to resume.", err=True
            )
            sys.exit(EXIT_API)
        raise

    def human() -> None:
        existing = result["existing_job"]
        click.echo(f"uploaded {len(result['uploaded'])} files ({result['bytes']:,} bytes), skipped "
                   f"{len(result['skipped'])} already there; "
                   + ("manifest not rewritten" if existing else "manifest written last"))  # fmt: skip
        if existing:
            click.echo(f"this dataset already trained as job {existing['id']} ({existing['job_name']}, "
                       f"{existing['status']}): nothing new to train")  # fmt: skip
        for warning in result["warnings"]:
            click.echo(f"warning: {warning}")
        click.echo(result["dataset_uri"])

    obj.emit(result, human)


@cli.command()
@click.option(
    "--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--idempotency-key", default=None, help="the same key again returns the first job")
@click.option("--wait", is_flag=True, help="follow the job until it ends")
@click.option("--no-logs", is_flag=True, help="with --wait: status changes only, not the job's log lines")
@click.option(
    "--dry-run",
    is_flag=True,
    help="check everything (config, channels, image, capacity) and print the cost ceiling; submit nothing",
)
@pass_context
def submit(
    obj: Context, config_path: Path, idempotency_key: str | None, wait: bool, no_logs: bool, dry_run: bool
) -> None:
    """Submit a training job from a YAML or JSON file."""
    try:
        config = load_config(config_path)
    except (ValueError, OSError) as exc:
        raise click.UsageError(f"cannot read {config_path}: {exc}") from exc
    if dry_run:
        checked = obj.client.request("POST", "/jobs/dry-run", config)
        obj.emit(checked, lambda: show_dry_run(checked))
        return
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    job = obj.client.request("POST", "/jobs", config, headers=headers)
    if wait:
        follow(obj, job["id"], logs=not no_logs)
        return
    obj.emit(job, lambda: click.echo(f"submitted job {job['id']} {job['job_name']} ({job['status']})"))


def resolve_job(obj: Context, job: str) -> int:
    if job.isdigit():
        return int(job)
    page = obj.client.request("GET", "/jobs", query={"job_name": job, "limit": 1})
    if not page["jobs"]:
        raise ApiError(404, "not_found", f"no training job named {job!r}")
    return int(page["jobs"][0]["id"])


@cli.command()
@click.argument("job")
@pass_context
def status(obj: Context, job: str) -> None:
    """A job's status, history and report (JOB is an id or a name)."""
    found = obj.client.request("GET", f"/jobs/{resolve_job(obj, job)}")
    obj.emit(found, lambda: show_job(found))


def follow(obj: Context, job_id: int, interval: float = 2.0, *, logs: bool = True) -> None:
    """Print status changes (and, with ``logs``, the job's log lines) until the job ends, then its report; exit 0
    only if it completed."""
    seen: tuple[str, str | None] | None = None
    token: str | None = None
    while True:
        job = obj.client.request("GET", f"/jobs/{job_id}")
        if logs and not obj.json:  # lines written up to this status first, then the status
            token = print_new_logs(obj, job_id, token, {})
        current = (job["status"], job.get("secondary_status"))
        if current != seen and not obj.json:
            detail = f" / {current[1]}" if current[1] else ""
            click.echo(f"{time.strftime('%H:%M:%S')}  {job['job_name']}: {current[0]}{detail}")
            seen = current
        if job["status"] in TERMINAL_JOB:
            break
        time.sleep(interval)
    obj.emit(job, lambda: show_job(job))
    sys.exit(0 if job["status"] == "Completed" else EXIT_FAILED)


@cli.command()
@click.argument("job")
@click.option(
    "--follow",
    "keep_following",
    is_flag=True,
    help="keep printing until the job ends; exit 1 unless it completed",
)
@click.option("--since", default=None, help="only lines from this long ago: 30s, 10m, 2h, 1d")
@click.option("--instance", default=None, help="one instance's lines: algo-1, algo-2, ...")
@click.option("--interval", default=2.0, show_default=True, help="seconds between polls with --follow")
@pass_context
def logs(
    obj: Context, job: str, keep_following: bool, since: str | None, instance: str | None, interval: float
) -> None:
    """A job's training logs across its instances, oldest first (JOB is an id or a name)."""
    job_id = resolve_job(obj, job)
    query = {k: v for k, v in (("start_time", since and since_time(since)), ("instance", instance)) if v}
    token = print_new_logs(obj, job_id, None, query)
    while keep_following:
        found = obj.client.request("GET", f"/jobs/{job_id}")
        if found["status"] in TERMINAL_JOB:
            token = print_new_logs(obj, job_id, token, query)  # what was written before the end arrived
            if not obj.json:
                click.echo(f"{found['job_name']}: {found['status']}"
                           + (f": {found['failure_reason']}" if found.get("failure_reason") else ""))  # fmt: skip
            sys.exit(0 if found["status"] == "Completed" else EXIT_FAILED)
        time.sleep(interval)
        token = print_new_logs(obj, job_id, token, query)


@cli.command()
@click.argument("job")
@click.option("--interval", default=2.0, show_default=True, help="seconds between polls")
@click.option("--no-logs", is_flag=True, help="status changes only, not the job's log lines")
@pass_context
def watch(obj: Context, job: str, interval: float, no_logs: bool) -> None:
    """Follow a job: status changes and log lines as they arrive, then its report. Exits 1 unless it completed."""
    follow(obj, resolve_job(obj, job), interval, logs=not no_logs)


@cli.command()
@click.argument("job")
@click.option("--png", "png_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="also write the charts to this PNG file")  # fmt: skip
@pass_context
def metrics(obj: Context, job: str, png_path: Path | None) -> None:
    """A job's metric curves: a chart per metric in the terminal (JOB is an id or a name)."""
    from trainforge.cli.charts import png_chart, terminal_charts

    job_id = resolve_job(obj, job)
    found = obj.client.request("GET", f"/jobs/{job_id}/metrics")
    if png_path is not None:
        png_chart(found["series"], png_path, f"job {job_id}: {job}")

    def human() -> None:
        if not any(found["series"].values()):
            click.echo("(no metric values yet)")
        else:
            click.echo(terminal_charts(found["series"]))
        for name, value in sorted(found["final_metrics"].items()):
            click.echo(f"final {name} = {value}")
        if png_path is not None:
            click.echo(f"chart written to {png_path}")

    obj.emit(found, human)


@cli.command(name="list")
@click.option(
    "--status",
    "status_filter",
    default=None,
    help="Pending, WaitingForCapacity, InProgress, Completed, Failed, Stopped, ...",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--cursor", default=None, help="next_cursor from the previous page")
@pass_context
def list_jobs(obj: Context, status_filter: str | None, limit: int, cursor: str | None) -> None:
    """Jobs, newest first."""
    page = obj.client.request(
        "GET", "/jobs", query={"status": status_filter, "limit": limit, "cursor": cursor}
    )

    def human() -> None:
        table(page["jobs"], [("id", "ID"), ("job_name", "NAME"), ("status", "STATUS"),
                             ("secondary_status", "DETAIL"), ("instance_type", "INSTANCE"), ("created_at", "CREATED")])  # fmt: skip
        if page["next_cursor"]:
            click.echo(f"more: trainforge list --cursor {page['next_cursor']}")

    obj.emit(page, human)


@cli.command()
@click.argument("job")
@pass_context
def cancel(obj: Context, job: str) -> None:
    """Cancel a job (nothing happens to a finished one)."""
    result = obj.client.request("POST", f"/jobs/{resolve_job(obj, job)}/cancel")
    message = "cancelled" if result["cancelled"] else "already finished: nothing to cancel"
    obj.emit(result, lambda: click.echo(f"job {result['job']['id']} {result['job']['job_name']}: {message} "
                                        f"({result['job']['status']})"))  # fmt: skip


@cli.command()
@click.option("--base-image", required=True)
@click.option(
    "--source", "source_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--tag", default=None, help="image tag (default: a timestamp)")
@click.option("--entry-point", default="train.py", show_default=True)
@click.option("--wait", is_flag=True, help="follow the build until it ends")
@pass_context
def build(
    obj: Context, base_image: str, source_dir: Path, tag: str | None, entry_point: str, wait: bool
) -> None:
    """Build a training image with CodeBuild from a folder of training code."""
    files: dict[str, str] = {}
    for path in sorted(source_dir.rglob("*")):
        if (
            path.is_file()
            and "__pycache__" not in path.parts
            and not any(p.startswith(".") for p in path.relative_to(source_dir).parts)
        ):
            try:
                files[path.relative_to(source_dir).as_posix()] = path.read_text()
            except UnicodeDecodeError:
                raise click.UsageError(
                    f"{path} is not text: keep data and binaries out of the source folder"
                ) from None
    body = {
        "base_image": base_image,
        "tag": tag or time.strftime("v%Y%m%d-%H%M%S"),
        "entry_point": entry_point,
        "files": files,
    }
    started = obj.client.request("POST", "/builds", body)
    current = started
    while wait and current["status"] not in TERMINAL_BUILD:
        time.sleep(2)
        current = obj.client.request("GET", f"/builds/{started['id']}")
    obj.emit(current, lambda: click.echo(f"build {current['id']} {current['status']}: {current['image_uri']}"
                                         + (f"\n{current['failure_reason']}" if current.get("failure_reason") else "")))  # fmt: skip
    if current["status"] in TERMINAL_BUILD and current["status"] != "SUCCEEDED":
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@pass_context
def builds(obj: Context, limit: int) -> None:
    """Container builds, newest first."""
    page = obj.client.request("GET", "/builds", query={"limit": limit})
    obj.emit(page, lambda: table(page["builds"], [("id", "ID"), ("status", "STATUS"), ("image_uri", "IMAGE"),
                                                  ("created_at", "CREATED")]))  # fmt: skip


cli.add_command(teams_group)
cli.add_command(usage_command)
cli.add_command(tune)
cli.add_command(tuning_status)


def main() -> None:
    cli(prog_name="trainforge")
