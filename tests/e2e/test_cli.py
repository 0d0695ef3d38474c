"""Each `trainforge` verb against local mode over real HTTP (local mode runs in its own process)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_process import ROOT, trainforge
from trainforge.cli.client import ApiError, TrainforgeClient
from trainforge.cli.uploads import Uploader

EXAMPLE = ROOT / "examples" / "churn"


def test_validate_lists_checks_failures_first(local_api: str) -> None:
    code, out, _ = trainforge(local_api, "validate")
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["RESULT", "CHECK"]
    code, out, _ = trainforge(local_api, "--output", "json", "validate")
    checks = json.loads(out)["checks"]
    assert [c["ok"] for c in checks] == sorted(
        (c["ok"] for c in checks), key={False: 0, None: 1, True: 2}.get
    )


def test_check_is_the_deploys_smoke_test_health_configuration_and_a_dry_run(local_api: str) -> None:
    code, out, err = trainforge(local_api, "check")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("health: ok (database answers")
    assert lines[1].startswith("configuration: ") and lines[1].endswith(", 0 fail")
    assert lines[2].startswith("dry run: smoke-check on ml.m5.large x1, cost ceiling $")
    assert lines[-1] == "check passed"
    code, out, _ = trainforge(local_api, "-o", "json", "check", "--instance-type", "ml.m5.xlarge")
    answer = json.loads(out)
    assert code == 0 and answer["passed"] is True and answer["failed_checks"] == []
    assert answer["dry_run"]["instance_type"] == "ml.m5.xlarge"
    assert answer["dry_run"]["capacity"]["pool"] == "ml.m5.xlarge"
    # nothing was recorded: a dry run
    assert trainforge(local_api, "-o", "json", "list")[1].count("smoke-check") == 0


def test_upload_lists_every_problem_before_sending_anything(local_api: str, tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text("file\nmissing.csv\n../escape.csv\n")
    code, _, err = trainforge(local_api, "upload", str(tmp_path), "--metadata", str(tmp_path / "meta.csv"))
    assert code == 2
    assert "2 problems" in err and "missing.csv" in err and "'..'" in err


def test_an_interrupted_upload_resumes_skipping_what_arrived(local_api: str, tmp_path: Path) -> None:
    dataset = tmp_path / "resume"
    shutil.copytree(EXAMPLE / "dataset", dataset)
    client = TrainforgeClient(local_api)
    calls: list[str] = []

    def flaky(url: str, data: bytes, headers: Any) -> None:
        calls.append(url)
        if len(calls) == 2:
            raise ApiError(0, "unreachable", "connection reset")
        client.put(url, data, headers)

    with pytest.raises(ApiError):
        Uploader(client, put=flaky).run(dataset, dataset / "metadata.csv", "resume-test", show_progress=False)
    code, out, err = trainforge(local_api, "-o", "json", "upload", str(dataset), "--metadata", str(dataset / "metadata.csv"),
                                "--prefix", "resume-test")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["skipped"] == ["train/churn.csv"]
    assert sorted(result["uploaded"]) == ["metadata.csv", "validation/churn.csv"]


def test_build_submit_watch_status_list_cancel(local_api: str) -> None:
    code, out, err = trainforge(local_api, "upload", "examples/churn/dataset", "--metadata", "examples/churn/dataset/metadata.csv",
                                "--prefix", "churn")  # fmt: skip
    assert code == 0, err
    assert "s3://trainforge-datasets/datasets/churn/" in out
    code, out, err = trainforge(local_api, "build", "--base-image", "python:3.12-slim", "--source", "examples/churn/code",
                                "--tag", "churn", "--wait")  # fmt: skip
    assert code == 0 and "SUCCEEDED" in out, err
    code, out, _ = trainforge(local_api, "builds")
    assert "trainforge-training:churn" in out
    code, out, err = trainforge(local_api, "submit", "--config", "examples/churn/job.yaml", "--wait")
    assert code == 0, out + err
    assert "Completed / Completed" in out and "metric validation:accuracy" in out
    assert "algo-1  model saved" in out, "submit --wait shows the job's log lines as they come"
    code, out, _ = trainforge(local_api, "logs", "churn-v1")
    lines = out.splitlines()
    assert code == 0 and lines[-1].endswith("algo-1  model saved") and "epoch=" in lines[0]
    code, out, _ = trainforge(local_api, "logs", "churn-v1", "--follow", "--interval", "0.2")
    assert code == 0 and out.splitlines()[-1] == "churn-v1: Completed"
    code, out, _ = trainforge(local_api, "-o", "json", "logs", "churn-v1", "--instance", "algo-2")
    assert code == 0 and out == ""
    png = Path(tempfile.mkdtemp()) / "churn.png"
    code, out, err = trainforge(local_api, "metrics", "churn-v1", "--png", str(png))
    assert code == 0, err
    assert "train:loss" in out and "validation:accuracy" in out and "final validation:accuracy = " in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = trainforge(local_api, "-o", "json", "metrics", "churn-v1")
    assert code == 0 and json.loads(out)["series"]["train:loss"]
    code, out, _ = trainforge(local_api, "-o", "json", "status", "churn-v1")
    assert code == 0 and json.loads(out)["report"]["final_metrics"]["validation:accuracy"] > 0.7
    code, out, _ = trainforge(local_api, "list", "--status", "Completed", "--limit", "5")
    assert code == 0 and "churn-v1" in out and out.splitlines()[0].startswith("ID")
    code, out, _ = trainforge(local_api, "cancel", "churn-v1")
    assert code == 0 and "already finished" in out
    code, out, _ = trainforge(local_api, "watch", "churn-v1", "--interval", "0.2")
    assert code == 0 and "Completed" in out


def test_logs_follow_a_running_job_until_it_ends(local_api: str, tmp_path: Path) -> None:
    config = tmp_path / "slow.json"
    config.write_text(json.dumps({
        "job_name": "churn-slow", "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:churn",
        "hyperparameters": {"epochs": 100, "learning_rate": 0.5, "sleep_per_epoch": 0.03},
        "metric_definitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
    }))  # fmt: skip
    code, out, err = trainforge(local_api, "-o", "json", "submit", "--config", str(config))
    assert code == 0, err
    assert json.loads(out)["status"] in ("Pending", "InProgress")
    code, out, err = trainforge(local_api, "logs", "churn-slow", "--follow", "--interval", "0.2")
    lines = out.splitlines()
    assert code == 0, out + err
    assert lines[-1] == "churn-slow: Completed" and lines[-2].endswith("model saved")
    assert sum("epoch=" in line for line in lines) == 10, "every line once, none lost between polls"


def test_a_failed_job_exits_1(local_api: str, tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({
        "job_name": "no-code-job", "dataset_uri": "s3://trainforge-datasets/datasets/churn/", "image_uri": "never-built:1",
    }))  # fmt: skip
    code, out, _ = trainforge(local_api, "submit", "--config", str(config), "--wait")
    assert code == 1 and "Failed" in out
    code, out, _ = trainforge(local_api, "logs", "no-code-job", "--follow", "--interval", "0.2")
    assert code == 1 and out.splitlines()[-1].startswith("no-code-job: Failed: ")


def test_usage_and_api_errors_say_what_to_do(local_api: str, tmp_path: Path) -> None:
    code, _, err = trainforge(local_api, "status", "no-such-job")
    assert code == 2 and "no training job named 'no-such-job'" in err
    code, _, err = trainforge("http://127.0.0.1:9", "list")
    assert code == 3 and "cannot reach" in err and "--api-url" in err
    code, _, err = trainforge("", "list")
    assert code == 2 and "TRAINFORGE_API_URL" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("job_name: has_underscore\ndataset_uri: s3://trainforge-datasets/datasets/churn/\n")
    code, _, err = trainforge(local_api, "submit", "--config", str(bad))
    assert code == 2 and "job_name" in err
    code, _, err = trainforge(local_api, "list", "--limit", "0")
    assert code == 2


def test_a_resubmission_that_differs_from_the_first_is_refused_naming_the_difference(
    local_api: str, tmp_path: Path
) -> None:
    first = {
        "job_name": "cli-conflict",
        "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
        "image_uri": "x:1",
    }
    config = tmp_path / "job.json"
    config.write_text(json.dumps(first))
    code, _, _ = trainforge(local_api, "submit", "--config", str(config))
    assert code == 0
    config.write_text(json.dumps({**first, "instance_count": 2}))
    code, _, err = trainforge(local_api, "submit", "--config", str(config))
    assert code == 2 and "instance_count" in err


def test_uploading_the_same_dataset_again_says_it_already_trained(local_api: str) -> None:
    upload = ("upload", str(EXAMPLE / "dataset"), "--metadata", str(EXAMPLE / "dataset" / "metadata.csv"))
    code, out, _ = trainforge(local_api, "-o", "json", *upload, "--prefix", "cli-again")
    assert code == 0
    job_name = json.loads(out)["job_name"]
    client = TrainforgeClient(local_api)
    deadline = time.monotonic() + 60
    while not client.request("GET", "/jobs", query={"job_name": job_name})["jobs"]:
        assert time.monotonic() < deadline, "the first upload started no job"
        time.sleep(0.5)
    code, out, _ = trainforge(local_api, *upload, "--prefix", "cli-again")
    assert code == 0 and "this dataset already trained as job" in out and job_name in out


def test_teams_usage_and_a_tuning_job_from_the_terminal(local_api: str, tmp_path: Path) -> None:
    code, out, err = trainforge(local_api, "teams", "apply", "examples/teams.json")
    assert code == 0, err
    assert "vision" in out and "forecasting" in out and "datasets/vision/" in out
    member = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
    code, out, _ = trainforge(local_api, "--principal", member, "-o", "json", "teams", "list")
    assert code == 0 and [t["name"] for t in json.loads(out)["teams"]] == ["vision"]
    png = tmp_path / "usage.png"
    code, out, err = trainforge(local_api, "--principal", member, "usage", "--png", str(png))
    assert code == 0, err
    assert out.startswith("vision 20") and "spent $0.00, committed $0.00, budget $2500.00" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = trainforge(local_api, "--principal", "arn:aws:iam::123456789012:role/intern", "list")
    assert code == 3 and "belongs to no Trainforge team" in err
    config = tmp_path / "tune.json"
    config.write_text(json.dumps({
        "tuning_job_name": "churn-cli-tune", "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:churn",
        "objective_metric": "validation:accuracy", "strategy": "Grid", "max_parallel_jobs": 2,
        "parameter_ranges": [{"name": "learning_rate", "kind": "categorical", "values": ["0.01", "0.5", "2.0"]}],
        "training": {"hyperparameters": {"epochs": 20},
                     "metric_definitions": [{"Name": "validation:accuracy", "Regex": "val_accuracy=([0-9.]+)"}]},
    }))  # fmt: skip
    code, out, err = trainforge(local_api, "tune", "--config", str(config), "--wait", "--interval", "0.3")
    assert code == 0, out + err
    lines = out.splitlines()
    assert (
        lines[0].startswith("churn-cli-tune (id ")
        and "Completed  Grid, Maximize validation:accuracy" in lines[0]
    )
    assert lines[1].startswith("  best: churn-cli-tune-00")
    assert lines[2].split()[:2] == ["TRIAL", "STATUS"] and len(lines) == 6
    tuning_id = lines[0].split("(id ")[1].split(")")[0]
    code, again, _ = trainforge(local_api, "tuning-status", tuning_id)
    assert code == 0 and again.splitlines()[1:] == lines[1:]


def test_a_job_reuses_a_finished_jobs_warm_pool_in_local_mode(local_api: str, tmp_path: Path) -> None:
    client = TrainforgeClient(local_api)
    config = tmp_path / "owner.json"
    config.write_text(json.dumps({
        "job_name": "pool-owner", "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:churn",
        "instance_type": "ml.m5.large", "keep_alive_seconds": 600, "hyperparameters": {"epochs": 5},
    }))  # fmt: skip
    code, out, err = trainforge(local_api, "submit", "--config", str(config), "--wait")
    assert code == 0, out + err
    owner = client.request("GET", "/jobs", query={"job_name": "pool-owner"})["jobs"][0]
    assert owner["warm_pool"]["status"] == "Available"  # from local SageMaker's event, through the handler
    user = client.request("POST", "/jobs", {
        "job_name": "pool-user", "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:churn",
        "hyperparameters": {"epochs": 5}, "reuse_warm_pool_of": "pool-owner",
    })  # fmt: skip
    assert user["instance_type"] == "ml.m5.large"  # taken from the pool, as its keep-alive is
    code, out, err = trainforge(local_api, "watch", "pool-user", "--interval", "0.2")
    assert code == 0 and "Completed" in out, out + err
    assert (
        client.request("GET", f"/jobs/{user['id']}")["warm_pool"]["status"] == "Available"
    )  # a pool of its own
    deadline = time.monotonic() + 30
    while (pool := client.request("GET", f"/jobs/{owner['id']}")["warm_pool"])["status"] != "Reused":
        assert time.monotonic() < deadline, pool
        time.sleep(0.2)
    assert pool["reused_by_job"] == "pool-user"
    with pytest.raises(ApiError) as refused:  # a pool that was taken cannot be taken again
        client.request("POST", "/jobs", {"job_name": "pool-late", "dataset_uri": "s3://trainforge-datasets/datasets/churn/",
                                         "reuse_warm_pool_of": "pool-owner"})  # fmt: skip
    assert refused.value.status == 422 and "warm pool is Reused" in refused.value.message
