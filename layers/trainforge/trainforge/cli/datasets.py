"""`trainforge upload`: a dataset validated here, uploaded (resumable, the manifest last), and what its arrival
did: the job it started (a dataset that carries its training settings, trainforge.json, starts one), the job it
already trained as, or why its job was refused."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import ApiError
from trainforge.cli.context import EXIT_API, EXIT_FAILED, EXIT_USAGE, CliError, Context, pass_context
from trainforge.cli.uploads import Uploader
from trainforge.errors import DatasetValidationError

STARTED_WAIT_SECONDS = 60.0
METADATA_NAMES = ("metadata.csv", "metadata.jsonl")


def started_job(obj: Context, job_name: str, wait: float) -> dict[str, Any] | None:
    """The job the manifest's arrival started (it goes through a queue), once it has left Pending or is waiting
    for capacity, so a refusal is said now; None when it is not recorded within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    found: list[dict[str, Any]] = []
    while not found:
        found = obj.client.request("GET", "/jobs", query={"job_name": job_name, "limit": 1})["jobs"]
        if not found and time.monotonic() > deadline:
            return None
        if not found:
            time.sleep(1.0)
    job = obj.client.request("GET", f"/jobs/{found[0]['id']}")
    while job["status"] == "Pending" and not job.get("queue") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = obj.client.request("GET", f"/jobs/{job['id']}")
    return dict(job)


def default_metadata(dataset_dir: Path) -> Path:
    for name in METADATA_NAMES:
        if (dataset_dir / name).is_file():
            return dataset_dir / name
    raise CliError(
        f"{dataset_dir} has no metadata file: put a metadata.csv there whose 'file' column lists each file of the "
        "dataset (an optional 'channel' column names its channel), or pass --metadata",
        code="invalid_dataset",
    )


@click.command()
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the file listing the dataset's files (default: DATASET_DIR/metadata.csv or metadata.jsonl)",
)  # fmt: skip
@click.option(
    "--prefix", default=None, help="the dataset's name under the datasets prefix (default: the folder's)"
)
@click.option(
    "--wait-for-job", default=STARTED_WAIT_SECONDS, show_default=True, type=click.FloatRange(0, 3600),
    help="seconds to wait for the job a dataset with trainforge.json starts",
)  # fmt: skip
@pass_context
def upload(
    obj: Context, dataset_dir: Path, metadata: Path | None, prefix: str | None, wait_for_job: float
) -> None:
    """Validate a dataset locally, then upload it (resumable; manifest last). A dataset that carries its training
    settings (trainforge.json) starts its job: the command says which, or why it was refused (exit 1)."""
    metadata = metadata or default_metadata(dataset_dir)
    name = prefix or dataset_dir.resolve().name.lower()
    try:
        result = Uploader(obj.client).run(dataset_dir, metadata, name, show_progress=not obj.json)
    except DatasetValidationError as invalid:
        raise CliError(
            f"the dataset is not valid ({len(invalid.problems)} problems)",
            exit_code=EXIT_USAGE,
            code="invalid_dataset",
            problems=[{"field": p.field, "message": p.message} for p in invalid.problems],
        ) from None
    except ApiError as error:
        if error.status == 0 or error.code == "upload_refused":
            raise CliError(
                f"upload interrupted: {error.message}. Run the same command again to resume.",
                exit_code=EXIT_API,
                code="upload_interrupted",
            ) from None
        raise
    job = result["existing_job"]
    if job is None and result["starts_job"]:
        job = started_job(obj, result["job_name"], wait_for_job)
    result["job"] = job
    refused = job is not None and job["status"] == "Rejected" and not result["existing_job"]

    def human() -> None:
        click.echo(f"uploaded {len(result['uploaded'])} files ({result['bytes']:,} bytes), skipped "
                   f"{len(result['skipped'])} already there; "
                   + ("manifest not rewritten" if result["existing_job"] else "manifest written last"))  # fmt: skip
        for warning in result["warnings"]:
            click.echo(f"warning: {warning}")
        click.echo(result["dataset_uri"])
        if result["existing_job"]:
            click.echo(f"this dataset already trained as job {job['id']} ({job['job_name']}, {job['status']}): "
                       "nothing new to train")  # fmt: skip
        elif not result["starts_job"]:
            click.echo("no job started (the dataset carries no trainforge.json): train on it with "
                       f"trainforge submit --dataset {name} --image TAG --job-name NAME")  # fmt: skip
        elif job is None:
            click.echo(f"its job {result['job_name']} is not recorded yet (its arrival goes through a queue): "
                       f"trainforge status {result['job_name']}")  # fmt: skip
        elif refused:
            click.echo(f"its job {job['id']} {job['job_name']} was Rejected: {job.get('failure_reason')}")
        else:
            queue = job.get("queue") or {}
            state = (f"waiting for {queue['pool']} capacity, position {queue['position']}" if queue.get("position")
                     else job["status"])  # fmt: skip
            click.echo(f"started job {job['id']} {job['job_name']} ({state}): trainforge watch {job['id']}")

    obj.emit(result, human)
    if refused:
        sys.exit(EXIT_FAILED)
