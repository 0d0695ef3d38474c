"""`trainforge tune` and `trainforge tuning-status`: a tuning job from a file, and its trials best first."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from trainforge.cli.context import EXIT_FAILED, load_config
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
@click.option("--wait", is_flag=True, help="follow it until it ends, then show its trials")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.2, 300))
def tune(config_path: Path, wait: bool, interval: float) -> None:
    """Submit a hyperparameter tuning job."""
    obj = _context()
    found = obj.client.request("POST", "/tuning-jobs", load_config(config_path))
    while wait and found["status"] not in TERMINAL:
        time.sleep(interval)
        found = obj.client.request("GET", f"/tuning-jobs/{found['id']}")
    obj.emit(found, lambda: show_tuning(found))
    if wait and found["status"] != "Completed":
        raise SystemExit(EXIT_FAILED)


@click.command(name="tuning-status")
@click.argument("tuning_job_id", type=click.IntRange(1))
def tuning_status(tuning_job_id: int) -> None:
    """A tuning job, its best trial, and its trials sorted by the objective."""
    obj = _context()
    found = obj.client.request("GET", f"/tuning-jobs/{tuning_job_id}")
    obj.emit(found, lambda: show_tuning(found))
