"""The tuning verbs: `tune` (from a file), `tunings` (a list), `tuning-status` (its trials best first) and
`tuning-cancel`; a tuning job is named by its id or its name."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import ApiError
from trainforge.cli.context import EXIT_FAILED, load_config
from trainforge.cli.names import dataset_of, image_of
from trainforge.cli.output import table

TERMINAL = ("Completed", "Failed", "Stopped", "Rejected")


def _context() -> Any:
    return click.get_current_context().find_root().obj


def show_tuning(found: dict[str, Any]) -> None:
    counts = (
        ", ".join(f"{k} {v}" for k, v in sorted(found["training_counts"].items()) if v) or "no trials yet"
    )
    click.echo(f"{found['tuning_job_name']} (id {found['id']}): {found['status']}  {found['strategy']}, "
               f"{found['objective_type']} {found['objective_metric']}; trials: {counts}")  # fmt: skip
    if found.get("failure_reason"):
        click.echo(f"  reason: {found['failure_reason']}")
    if found.get("best_training_job"):
        click.echo(
            f"  best: {found['best_training_job']} ({found['objective_metric']} = {found['best_objective_value']})"
        )
    rows = [
        {**trial, "values": ", ".join(f"{k}={v}" for k, v in sorted(trial["hyperparameters"].items()))}
        for trial in found.get("trials", [])
    ]
    table(rows, [("job_name", "TRIAL"), ("status", "STATUS"), ("objective_value", found["objective_metric"].upper()),
                 ("values", "HYPERPARAMETERS")])  # fmt: skip


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="tune.yaml or .json: POST /tuning-jobs's body")  # fmt: skip
@click.option(
    "--image", default=None, help="every trial's image: its URI, or a tag you built (over the file's)"
)
@click.option(
    "--dataset",
    default=None,
    help="the dataset: its s3:// URI, or the name you uploaded it under (over the file's)",
)
@click.option("--wait", is_flag=True, help="follow it until it ends, then show its trials")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.2, 300))
def tune(config_path: Path, image: str | None, dataset: str | None, wait: bool, interval: float) -> None:
    """Submit a hyperparameter tuning job (examples/tuning/tune.yaml; docs/reference/tune.md)."""
    obj = _context()
    config = load_config(config_path)
    if image:
        config["image_uri"] = image_of(obj, image)
    if dataset:
        config["dataset_uri"] = dataset_of(obj, dataset)
    found = obj.client.request("POST", "/tuning-jobs", config)
    while wait and found["status"] not in TERMINAL:
        time.sleep(interval)
        found = obj.client.request("GET", f"/tuning-jobs/{found['id']}")
    obj.emit(found, lambda: show_tuning(found))
    if wait and found["status"] != "Completed":
        raise SystemExit(EXIT_FAILED)


def resolve_tuning_job(obj: Any, tuning_job: str) -> int:
    """A tuning job's id from its id or its name."""
    if tuning_job.isdigit():
        return int(tuning_job)
    found = obj.client.request("GET", "/tuning-jobs", query={"tuning_job_name": tuning_job, "limit": 1})
    if not found["tuning_jobs"]:
        raise ApiError(404, "not_found", f"no tuning job named {tuning_job!r}")
    return int(found["tuning_jobs"][0]["id"])


@click.command(name="tuning-status")
@click.argument("tuning_job")
def tuning_status(tuning_job: str) -> None:
    """A tuning job (TUNING_JOB is an id or a name), its best trial, and its trials sorted by the objective."""
    obj = _context()
    found = obj.client.request("GET", f"/tuning-jobs/{resolve_tuning_job(obj, tuning_job)}")
    obj.emit(found, lambda: show_tuning(found))


@click.command(name="tunings")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--cursor", default=None, help="next_cursor from the previous page")
def tunings(limit: int, cursor: str | None) -> None:
    """Tuning jobs, newest first."""
    obj = _context()
    page = obj.client.request("GET", "/tuning-jobs", query={"limit": limit, "cursor": cursor})

    def human() -> None:
        rows = [
            {
                **t,
                "best": f"{t['best_training_job']} = {t['best_objective_value']}"
                if t["best_training_job"]
                else "",
            }
            for t in page["tuning_jobs"]
        ]
        table(rows, [("id", "ID"), ("tuning_job_name", "NAME"), ("status", "STATUS"), ("strategy", "STRATEGY"),
                     ("objective_metric", "OBJECTIVE"), ("best", "BEST"), ("created_at", "CREATED")])  # fmt: skip
        if page["next_cursor"]:
            click.echo(f"more: trainforge tunings --cursor {page['next_cursor']}")

    obj.emit(page, human)


@click.command(name="tuning-cancel")
@click.argument("tuning_job")
def tuning_cancel(tuning_job: str) -> None:
    """Cancel a tuning job (SageMaker stops its trials; nothing happens to a finished one)."""
    obj = _context()
    result = obj.client.request("POST", f"/tuning-jobs/{resolve_tuning_job(obj, tuning_job)}/cancel")
    found = result["tuning_job"]
    message = "cancelled" if result["cancelled"] else "already finished: nothing to cancel"
    obj.emit(
        result,
        lambda: click.echo(f"{found['tuning_job_name']} (id {found['id']}): {message} ({found['status']})"),
    )
