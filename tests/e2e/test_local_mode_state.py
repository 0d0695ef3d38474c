"""Local mode keeps what the user saw across a stop and a start, and ``make demo`` passes again and again, also
after such a session. Everything runs as a user runs it: ``serve`` and ``demo`` in processes of their own, with
their embedded PostgreSQL, the real CLI and plain HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.local_mode_process import ROOT, LocalModeProcess, clean_environment

EXAMPLE = ROOT / "examples" / "churn"
SPEC = json.loads((EXAMPLE / "dataset" / "trainforge.json").read_text())
QUICK = {"epochs": 40, "learning_rate": 0.5, "sleep_per_epoch": 0}  # the example unpaced: a second a job


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("kept")
    yield folder
    subprocess.run(
        [sys.executable, "-m", "local_mode", "stop", "--work-dir", str(folder)], cwd=ROOT, check=False
    )


def cli(mode: LocalModeProcess, *args: str) -> str:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "trainforge"), *args], cwd=ROOT,
        env=clean_environment(TRAINFORGE_API_URL=mode.url), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def finished(mode: LocalModeProcess, job_id: int) -> dict[str, Any]:
    job = mode.wait_for_job(job_id, ("Completed", "Failed", "Stopped", "Rejected"), timeout=90)
    assert job["status"] == "Completed", job
    return job


def tuning_finished(mode: LocalModeProcess, tuning_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    tuning: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, tuning = mode.call("GET", f"/tuning-jobs/{tuning_id}")
        if tuning["status"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.3)
    assert tuning["status"] == "Completed", tuning
    return tuning


def s3_keys(mode: LocalModeProcess, bucket: str, prefix: str) -> list[str]:
    s3 = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{mode.aws_port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_a_stop_and_a_start_keep_images_data_jobs_logs_metrics_teams_and_tuning_jobs(work_dir: Path) -> None:
    mode = LocalModeProcess(work_dir).start()
    try:
        built = cli(mode, "build", "--base-image", "python:3.12-slim", "--source", str(EXAMPLE / "code"),
                    "--tag", "churn", "--wait")  # fmt: skip
        assert "SUCCEEDED" in built
        files = (
            work_dir.parent / "dataset"
        )  # the example's data without its trainforge.json: no job of its own
        shutil.copytree(
            EXAMPLE / "dataset", files, ignore=shutil.ignore_patterns("trainforge.json"), dirs_exist_ok=True
        )
        cli(mode, "upload", str(files), "--metadata", str(files / "metadata.csv"), "--prefix", "churn")
        dataset = "s3://trainforge-datasets/datasets/churn/"
        body = {**SPEC, "hyperparameters": QUICK, "job_name": "kept-first", "dataset_uri": dataset}
        status, job = mode.call("POST", "/jobs", body)
        assert status == 202, job
        first = finished(mode, job["id"])
        _, logs = mode.call("GET", f"/jobs/{first['id']}/logs?limit=1000")
        _, metrics = mode.call("GET", f"/jobs/{first['id']}/metrics")
        assert logs["events"] and metrics["series"]["train:loss"]
        status, team = mode.call(
            "PUT", "/teams/vision", {"members": ["arn:aws:iam::123456789012:role/vision"]}
        )
        assert status == 201, team
        tuning_body = {
            "tuning_job_name": "kept-tuning", "dataset_uri": dataset, "image_uri": SPEC["image_uri"],
            "objective_metric": "validation:accuracy", "strategy": "Grid", "max_parallel_jobs": 2,
            "parameter_ranges": [{"name": "learning_rate", "kind": "categorical", "values": ["0.1", "0.5"]}],
            "training": {"instance_type": "ml.m5.large", "max_runtime_seconds": 600,
                         "hyperparameters": {"epochs": 20, "sleep_per_epoch": 0}, "metric_definitions": SPEC["metric_definitions"]},
        }  # fmt: skip
        status, tuning = mode.call("POST", "/tuning-jobs", tuning_body)
        assert status == 202, tuning
        tuned = tuning_finished(mode, tuning["id"])
        dataset_keys = s3_keys(mode, "trainforge-datasets", "datasets/churn/")
        assert "datasets/churn/manifest.json" in dataset_keys
    finally:
        mode.stop()
    assert mode.process is not None and mode.process.returncode == 0, mode.text()

    again = LocalModeProcess(work_dir)
    again.api_port, again.aws_port = (
        mode.api_port,
        mode.aws_port,
    )  # the same ports, as `make local` keeps them
    again.start()
    try:
        text = again.text()
        assert f"API at {mode.url}" in text and "disagrees" not in text and "without stopping" not in text, (
            text
        )
        assert s3_keys(again, "trainforge-datasets", "datasets/churn/") == dataset_keys
        _, same_logs = again.call("GET", f"/jobs/{first['id']}/logs?limit=1000")
        _, same_metrics = again.call("GET", f"/jobs/{first['id']}/metrics")
        assert same_logs["events"] == logs["events"]
        assert same_metrics["series"] == metrics["series"]
        _, kept_team = again.call("GET", "/teams/vision")
        assert kept_team["members"] == team["members"]
        _, kept_tuning = again.call("GET", f"/tuning-jobs/{tuning['id']}")
        assert (kept_tuning["status"], kept_tuning["best_training_job"]) == (
            "Completed",
            tuned["best_training_job"],
        )
        _, builds = again.call("GET", "/builds")
        assert [b["status"] for b in builds["builds"]] == ["SUCCEEDED"]
        status, job = again.call("POST", "/jobs", {**body, "job_name": "kept-second"})
        assert status == 202, job
        second = finished(again, job["id"])  # on the image built before the stop
        assert second["report"]["model_artifacts_uri"].endswith("kept-second/output/model.tar.gz")
        assert "output/kept-second/output/model.tar.gz" in s3_keys(
            again, "trainforge-artifacts", "output/kept-second/"
        )
    finally:
        again.stop()
    assert again.process is not None and again.process.returncode == 0, again.text()


def run_demo(work_dir: Path) -> subprocess.CompletedProcess[str]:
    """``make demo`` as the Makefile runs it: no DATABASE_URL, so an embedded PostgreSQL of its own."""
    env = clean_environment()
    assert "DATABASE_URL" not in env
    return subprocess.run(
        [sys.executable, "-m", "local_mode", "demo", "--work-dir", str(work_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def test_the_demo_passes_twice_in_a_row_after_a_local_mode_session(work_dir: Path) -> None:
    """The session above defined a team, uploaded a dataset and ran jobs in this folder; the demo, run twice,
    starts from a state of its own each time and passes."""
    for run in (1, 2):
        result = run_demo(work_dir)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"run {run}:\n{output}"
        assert "Completed / Completed" in output and '"validation:accuracy"' in output
        assert "output/model.tar.gz" in output and "Stopped / Stopped" in output
        assert "budget_exceeded" in output and "→ 404" in output
        assert "got, signature checked: Trainforge Job State Change: vision-" in output  # its own receiver's
        assert output.count('"event_id": "trainforge-') == 1 and '"new_status": "Stopped"' in output
        assert '"url": "http://127.0.0.1:' in output  # the job at the API's address, which the demo chose
        assert "Completed, trials: Completed 6" in output and "best: churn-tune-" in output
        assert "Demo complete" in output
        assert "ended without stopping" not in output
    assert (work_dir / "postgres").is_dir()  # the session's own state is untouched by the demo
    assert not os.path.exists(work_dir / "demo" / "postgres" / "postmaster.pid")
