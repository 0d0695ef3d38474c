"""Local SageMaker runs tuning jobs: trials as real local training jobs (a real script reading its
hyperparameters by the training-container contract), never more at once than MaxParallelTrainingJobs, and the
tuning job's events as SageMaker sends them, ending with its best trial named."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.training_code import upload_code
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.services.sagemaker_training_service import SageMakerJobConfig
from trainforge.settings import Settings
from trainforge.tuning.config import TuningConfig

TRAIN = """
import json, os, time
hps = json.loads(os.environ["SM_HPS"])
lr = float(hps["lr"])
time.sleep(0.3)
# the best learning rate here is 0.3: accuracy falls away from it
print(f"val_acc={1 - abs(lr - 0.3):.4f}", flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write(str(lr))
"""
METRICS = [{"Name": "validation:accuracy", "Regex": r"val_acc=([0-9.]+)"}]


@pytest.fixture
def local(aws_resources: Settings, tmp_path: Path) -> tuple[LocalSageMaker, list[dict[str, Any]]]:
    settings = dataclasses.replace(aws_resources, local_work_dir=str(tmp_path))
    s3 = boto3.client("s3", region_name="us-east-1")
    upload_code("tune", TRAIN)
    s3.put_object(Bucket="trainforge-datasets", Key="datasets/rows/rows.csv", Body=b"1\n")
    events: list[dict[str, Any]] = []
    return LocalSageMaker(settings, emit=events.append), events


def request(strategy: str, ranges: list[dict[str, Any]], **limits: Any) -> dict[str, Any]:
    trial = TrainingConfig(
        job_name="trial",
        hyperparameters={
            "sagemaker_submit_directory": "s3://trainforge-artifacts/code/tune.tar.gz",
            "sagemaker_program": "train.py",
        },
        metric_definitions=METRICS,
        max_runtime_seconds=60,
    )
    config = TuningConfig(tuning_job_name="local-tune", objective_metric="validation:accuracy", training=trial,
                          parameter_ranges=(), strategy=strategy, **limits)  # fmt: skip
    config = TuningConfig.from_dict({**config.to_dict(), "parameter_ranges": ranges})
    config.validate()
    training = SageMakerJobConfig.from_training_config(
        trial, input_data_s3_uri="s3://trainforge-datasets/datasets/rows/",
        output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution", image_uri="local",
    ).to_sagemaker_config()  # fmt: skip
    return config.to_sagemaker_request(training)


def follow(runner: LocalSageMaker, timeout: float = 60) -> tuple[dict[str, Any], int]:
    """Its last description, and the most trials seen running at once."""
    deadline, most = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        described = runner.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="local-tune")
        running = sum(1 for job in runner.jobs.values() if job.status == "InProgress")
        most = max(most, running)
        if described["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped"):
            return described, most
        time.sleep(0.02)
    raise AssertionError("the tuning job never ended")


def test_a_grid_of_six_runs_two_at_a_time_and_names_its_best_trial(local: Any) -> None:
    runner, events = local
    values = ["0.05", "0.1", "0.2", "0.3", "0.4", "0.6"]
    runner.create_hyper_parameter_tuning_job(
        **request("Grid", [{"name": "lr", "kind": "categorical", "values": values}], max_parallel_jobs=2)
    )
    described, most = follow(runner)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert most == 2
    assert described["TrainingJobStatusCounters"]["Completed"] == 6
    best = described["BestTrainingJob"]
    assert best["TunedHyperParameters"] == {"lr": "0.3"}
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "MetricName": "validation:accuracy",
        "Value": 1.0,
    }
    trials = [job.describe() for job in runner.jobs.values()]
    assert sorted(t["HyperParameters"]["lr"] for t in trials) == sorted(values)
    assert all(t["TuningJobArn"].endswith("hyper-parameter-tuning-job/local-tune") for t in trials)
    tuning_events = [
        e for e in events if e["detail-type"] == "SageMaker HyperParameter Tuning Job State Change"
    ]
    assert tuning_events[0]["detail"]["HyperParameterTuningJobStatus"] == "InProgress"
    assert tuning_events[-1]["detail"]["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert all(e["detail"]["TrainingJobStatusCounters"]["InProgress"] <= 2 for e in tuning_events)
    times = [e["detail"]["LastModifiedTime"] for e in tuning_events]
    assert times == sorted(times) and len(set(times)) == len(times)  # each report newer than the last


def test_random_search_draws_within_the_range_and_stops_when_asked(local: Any) -> None:
    runner, _ = local
    runner.create_hyper_parameter_tuning_job(
        **request(
            "Random",
            [{"name": "lr", "kind": "continuous", "min_value": 0.01, "max_value": 0.9}],
            max_jobs=8,
            max_parallel_jobs=2,
        )
    )
    time.sleep(0.2)
    runner.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="local-tune")
    described, _ = follow(runner)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert len(runner.jobs) < 8  # no trial starts after the stop
    assert all(0.01 <= float(job.describe()["HyperParameters"]["lr"]) <= 0.9 for job in runner.jobs.values())


EPOCHS = """
import json, os, time
lr = float(json.loads(os.environ["SM_HPS"])["lr"])
for epoch in range(1, 7):
    # accuracy climbs each epoch towards 1 - |lr - 0.3|
    print(f"val_acc={(1 - abs(lr - 0.3)) * epoch / 6:.4f}", flush=True)
    time.sleep(0.15)
"""


def test_auto_early_stopping_stops_a_trial_worse_than_the_median_of_those_before_it(local: Any) -> None:
    runner, _ = local
    upload_code("tune", EPOCHS)
    values = ["0.9", "0.3", "0.95", "0.31"]  # one at a time, in this order
    tuning = request("Grid", [{"name": "lr", "kind": "categorical", "values": values}], max_parallel_jobs=1,
                     early_stopping="Auto")  # fmt: skip
    assert tuning["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"
    runner.create_hyper_parameter_tuning_job(**tuning)
    described, _ = follow(runner)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    outcome = {job.describe()["HyperParameters"]["lr"]: job for job in runner.jobs.values()}
    # The first has no trial before it; 0.3 and 0.31 stay above the median; 0.95 falls below it at once.
    assert {lr: job.status for lr, job in outcome.items()} == {
        "0.9": "Completed", "0.3": "Completed", "0.95": "Stopped", "0.31": "Completed",
    }  # fmt: skip
    assert (
        len(outcome["0.95"].series["validation:accuracy"])
        < 6
        == len(outcome["0.31"].series["validation:accuracy"])
    )
    assert described["TrainingJobStatusCounters"]["Stopped"] == 1
    assert described["BestTrainingJob"]["TunedHyperParameters"] == {"lr": "0.3"}


def test_one_tuning_job_however_many_deliveries_create_it_at_once(local: Any) -> None:
    runner, _ = local
    tuning = request("Grid", [{"name": "lr", "kind": "categorical", "values": ["0.3"]}], max_parallel_jobs=1)
    answers: list[str] = []

    def create() -> None:
        try:
            runner.create_hyper_parameter_tuning_job(**tuning)
            answers.append("created")
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["ResourceInUse"] * 7 + ["created"]
    described, _ = follow(runner)
    assert described["TrainingJobStatusCounters"]["Completed"] == 1
