"""The job verbs: submit, status, watch, logs, metrics, list, cancel, download (JOB is an id or a name)."""

from __future__ import annotations

import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import ApiError, TrainforgeClient
from trainforge.cli.context import EXIT_FAILED, CliError, Context, load_config, pass_context
from trainforge.cli.names import dataset_of, image_of
from trainforge.cli.output import plural, print_new_logs, shorten, show_dry_run, show_job, since_time, table

TERMINAL_JOB = ("Completed", "Failed", "Stopped", "Rejected")


def job_id_of(request: Callable[..., Any], job: int | str) -> int:
    """A job's id from its id or its name (``request``: an API call, as ``TrainforgeClient.request`` makes it)."""
    if isinstance(job, int) or job.isdigit():
        return int(job)
    page = request("GET", "/jobs", query={"job_name": job, "limit": 1})
    if not page["jobs"]:
        raise ApiError(404, "not_found", f"no training job named {job!r}")
    return int(page["jobs"][0]["id"])


def resolve_job(obj: Context, job: str) -> int:
    return job_id_of(obj.client.request, job)


def unpack_artifact(client: TrainforgeClient, url: str, folder: Path) -> list[str]:
    """A job's archive (a presigned URL) unpacked into ``folder``; the names it held."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as archive:
        client.download(url, archive)
        archive.seek(0)
        with tarfile.open(fileobj=archive, mode="r:*") as tar:
            names = tar.getnames()
            tar.extractall(folder, filter="data")  # no path outside the folder, no device or link tricks
    return names


def hyperparameter_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise CliError(f"--hyperparameter {pair!r} must be NAME=VALUE", code="bad_option")
        found[name] = value
    return found


def job_request(obj: Context, config_path: Path | None, flags: dict[str, Any]) -> dict[str, Any]:
    """POST /jobs's body: the config file's settings, with what the options give over them."""
    config = load_config(config_path) if config_path else {}
    if flags["job_name"]:
        config["job_name"] = flags["job_name"]
    if flags["image"]:
        config["image_uri"] = image_of(obj, flags["image"])
    if flags["dataset"]:
        config["dataset_uri"] = dataset_of(obj, flags["dataset"])
    if flags["instance_type"]:
        config["instance_type"] = flags["instance_type"]
    if flags["hyperparameter"]:
        config["hyperparameters"] = {**(config.get("hyperparameters") or {}),
                                     **hyperparameter_pairs(flags["hyperparameter"])}  # fmt: skip
    return config


@click.command()
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="job.yaml or .json: POST /jobs's body (docs/reference/job.md); the options below go over it",
)  # fmt: skip
@click.option("--job-name", default=None, help="the job's name (job_name)")
@click.option(
    "--image", default=None,
    help="the training image: its URI, or a tag you built (trainforge build --tag TAG)",
)  # fmt: skip
@click.option(
    "--dataset", default=None,
    help="the dataset: its s3:// URI, or the name you uploaded it under (trainforge upload --prefix NAME)",
)  # fmt: skip
@click.option("--instance-type", default=None, help="e.g. ml.m5.large (default: the service's)")
@click.option(
    "--hyperparameter", "-H", multiple=True, metavar="NAME=VALUE", help="a hyperparameter; repeat for more"
)
@click.option("--idempotency-key", default=None, help="the same key again returns the first job")
@click.option("--wait", is_flag=True, help="follow the job until it ends")
@click.option("--no-logs", is_flag=True, help="with --wait: status changes only, not the job's log lines")
@click.option(
    "--dry-run",
    is_flag=True,
    help="check everything a submission would (settings, name, dataset, image, capacity, budget) and print the "
    "cost ceiling; submit nothing; exit 1 if it would not be accepted",
)
@pass_context
def submit(
    obj: Context, /, config_path: Path | None, idempotency_key: str | None, wait: bool, no_logs: bool,
    dry_run: bool, **flags: Any,
) -> None:  # fmt: skip
    """Submit a training job: from a YAML or JSON file, from options, or both.

    \b
    trainforge submit --config job.yaml --wait
    trainforge submit --job-name fit-1 --image myproj --dataset myproj --wait
    """
    config = job_request(obj, config_path, flags)
    if dry_run:
        checked = obj.client.request("POST", "/jobs/dry-run", config)
        obj.emit(checked, lambda: show_dry_run(checked))
        if not checked["accepted"]:
            sys.exit(EXIT_FAILED)
        return
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    job = obj.client.request("POST", "/jobs", config, headers=headers)
    again = obj.client.last_status == 200  # the same request as an earlier one: that job, as it is now
    if wait:
        if again and not obj.json:
            click.echo(f"job {job['id']} {job['job_name']} exists already (the same request): following it")
        follow(obj, job["id"], logs=not no_logs)
        return

    def human() -> None:
        if again:
            click.echo(
                f"job {job['id']} {job['job_name']} exists already (the same request): {job['status']}"
            )
        else:
            click.echo(f"submitted job {job['id']} {job['job_name']} ({job['status']})")

    obj.emit(job, human)


@click.command()
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


@click.command()
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


@click.command()
@click.argument("job")
@click.option("--interval", default=2.0, show_default=True, help="seconds between polls")
@click.option("--no-logs", is_flag=True, help="status changes only, not the job's log lines")
@pass_context
def watch(obj: Context, job: str, interval: float, no_logs: bool) -> None:
    """Follow a job: status changes and log lines as they arrive, then its report. Exits 1 unless it completed."""
    follow(obj, resolve_job(obj, job), interval, logs=not no_logs)


@click.command()
@click.argument("job")
@click.option("--png", "png_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="also write the charts to this PNG file")  # fmt: skip
@pass_context
def metrics(obj: Context, job: str, png_path: Path | None) -> None:
    """A job's metric curves, step by step: a chart per metric in the terminal (JOB is an id or a name)."""
    # the charting libraries only for `metrics`
    from trainforge.cli.charts import png_chart, terminal_charts

    job_id = resolve_job(obj, job)
    found = obj.client.request("GET", f"/jobs/{job_id}/metrics")
    steps = found.get("steps") or {}
    if png_path is not None:
        png_chart(steps, png_path, f"job {job_id}: {job}")

    def human() -> None:
        if not found.get("series") and not steps:
            click.echo(
                "(no metrics: the job names none; give it metric_definitions, Name and Regex, in its file)"
            )
        elif not any(steps.values()):
            click.echo("(no metric values yet)")
        else:
            click.echo(terminal_charts(steps))
        for name, value in sorted(found["final_metrics"].items()):
            click.echo(f"final {name} = {value}")
        if png_path is not None:
            click.echo(f"chart written to {png_path}")

    obj.emit(found, human)


@click.command(name="list")
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
    """Jobs, newest first; a Rejected or Failed job's DETAIL is its reason, shortened."""
    page = obj.client.request(
        "GET", "/jobs", query={"status": status_filter, "limit": limit, "cursor": cursor}
    )

    def detail(job: dict[str, Any]) -> str:
        if job["status"] in ("Rejected", "Failed") and job.get("failure_reason"):
            return shorten(job["failure_reason"], 60)
        return str(job.get("secondary_status") or "")

    def human() -> None:
        rows = [{**job, "detail": detail(job)} for job in page["jobs"]]
        table(rows, [("id", "ID"), ("job_name", "NAME"), ("status", "STATUS"), ("detail", "DETAIL"),
                     ("instance_type", "INSTANCE"), ("created_at", "CREATED")])  # fmt: skip
        if page["next_cursor"]:
            click.echo(f"more: trainforge list --cursor {page['next_cursor']}")

    obj.emit(page, human)


@click.command()
@click.argument("job")
@pass_context
def cancel(obj: Context, job: str) -> None:
    """Cancel a job (nothing happens to a finished one)."""
    result = obj.client.request("POST", f"/jobs/{resolve_job(obj, job)}/cancel")
    message = "cancelled" if result["cancelled"] else "already finished: nothing to cancel"
    obj.emit(result, lambda: click.echo(f"job {result['job']['id']} {result['job']['job_name']}: {message} "
                                        f"({result['job']['status']})"))  # fmt: skip


@click.command()
@click.argument("job")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", "only", flag_value="model", help="only the model (model.tar.gz)")
@click.option("--output", "only", flag_value="output", help="only the output (output.tar.gz)")
@pass_context
def download(obj: Context, job: str, directory: Path | None, only: str | None) -> None:
    """Fetch a finished job's model and output, unpacked into DIRECTORY/model and DIRECTORY/output (DIRECTORY:
    the job's name)."""
    found = obj.client.request("GET", f"/jobs/{resolve_job(obj, job)}/artifacts")
    target = directory or Path(found["job_name"])
    wanted = [only] if only else ["model", "output"]
    available = {part: found[part] for part in wanted if found.get(part)}
    if not available:
        what = " or ".join(wanted)
        raise CliError(
            f"job {found['job_id']} {found['job_name']} has no {what} to download ({found['status']}): "
            + ("a job has a model once it completed" if found["status"] != "Completed" else "it wrote none"),
            exit_code=EXIT_FAILED,
            code="no_artifacts",
        )
    written: dict[str, Any] = {}
    for part, link in available.items():
        folder = target / part
        names = unpack_artifact(obj.client, link["url"], folder)
        written[part] = {"uri": link["uri"], "directory": str(folder), "files": names}

    def human() -> None:
        for part, where in written.items():
            click.echo(
                f"{part}: {where['uri']} → {where['directory']}/ ({plural(len(where['files']), 'file')})"
            )
            for name in where["files"][:10]:
                click.echo(f"  {name}")

    obj.emit({"job_id": found["job_id"], "job_name": found["job_name"], **written}, human)
