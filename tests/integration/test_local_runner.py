"""The local SageMaker runs real training scripts by the training-container contract."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from sqlalchemy.orm import Session

from tests.training_code import upload_code
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.services.sagemaker_training_service import SageMakerJobConfig, SageMakerTrainingService
from trainforge.settings import Settings
from trainforge.tracking.logs import job_logs
from trainforge.tracking.metrics import job_metrics

TRAIN = """
import json, os, sys, time
data_dir = os.environ["SM_CHANNEL_TRAINING"]
rows = open(os.path.join(data_dir, "rows.csv")).read().split()
hps = json.loads(os.environ["SM_HPS"])
assert json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")))["epochs"] == "3"
assert "--epochs" in sys.argv
for epoch in range(int(hps["epochs"])):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f} val_acc={0.5 + epoch / 10:.2f}", flush=True)
    time.sleep(float(os.environ.get("SLEEP", "0")))
if os.environ.get("FAIL"):
    open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("ValueError: bad data")
    sys.exit(3)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    json.dump({"rows": len(rows)}, f)
"""


@pytest.fixture
def local(aws_resources: Settings, tmp_path: Path) -> tuple[LocalSageMaker, list[dict[str, Any]]]:
    return local_sagemaker(aws_resources, tmp_path)


def local_sagemaker(aws_resources: Settings, tmp_path: Path) -> tuple[LocalSageMaker, list[dict[str, Any]]]:
    """A local SageMaker working in ``tmp_path``, the events it emits, and this module's script and data."""
    settings = dataclasses.replace(aws_resources, local_work_dir=str(tmp_path))
    events: list[dict[str, Any]] = []
    upload_code("sourcedir", TRAIN)
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket="trainforge-datasets", Key="datasets/rows/rows.csv", Body=b"1\n2\n3\n"
    )
    return LocalSageMaker(settings, emit=events.append), events


def request(name: str, **environment: str) -> dict[str, Any]:
    config = TrainingConfig(
        job_name=name,
        hyperparameters={"epochs": "3", "sagemaker_submit_directory": "s3://trainforge-artifacts/code/sourcedir.tar.gz",
                         "sagemaker_program": "train.py"},
        metric_definitions=[{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}, {"Name": "val:acc", "Regex": r"val_acc=([0-9.]+)"}],
        environment_variables=environment,
        max_runtime_seconds=int(environment.pop("MAX_RUNTIME", "60")),
    )  # fmt: skip
    return SageMakerJobConfig.from_training_config(
        config,
        input_data_s3_uri="s3://trainforge-datasets/datasets/rows/",
        output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution",
        image_uri="local",
    ).to_sagemaker_config()


def wait_until(
    local: LocalSageMaker, name: str, statuses: tuple[str, ...], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = local.describe_training_job(TrainingJobName=name)
        if described["TrainingJobStatus"] in statuses:
            return described
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {statuses}")


def test_a_job_runs_to_completion_with_metrics_and_model(local: Any) -> None:
    runner, events = local
    runner.create_training_job(**request("local-ok"))
    described = wait_until(runner, "local-ok", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]} == {
        "train:loss": 0.3333,
        "val:acc": 0.7,
    }
    artifact = described["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == "s3://trainforge-artifacts/output/local-ok/output/model.tar.gz"
    body = (
        boto3.client("s3", region_name="us-east-1")
        .get_object(Bucket="trainforge-artifacts", Key=artifact.split("/", 3)[3])["Body"]
        .read()
    )
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert json.load(tar.extractfile("model.json")) == {"rows": 3}  # type: ignore[arg-type]
    runner.wait()
    seen = [(e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"]) for e in events]
    assert seen == [
        ("InProgress", "Starting"), ("InProgress", "Downloading"), ("InProgress", "Training"),
        ("InProgress", "Uploading"), ("Completed", "Completed"),
    ]  # fmt: skip
    last = events[-1]
    assert last["detail-type"] == "SageMaker Training Job State Change" and last["source"] == "aws.sagemaker"
    assert (
        isinstance(last["detail"]["LastModifiedTime"], int) and last["detail"]["BillableTimeInSeconds"] >= 1
    )
    stamps = [e["detail"]["LastModifiedTime"] for e in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # Each metric definition's matches are where SageMaker publishes them (the script's epochs fall within one
    # second here, so each series averages them: the values themselves are checked on a slower run below).
    curves = job_metrics(boto3.client("cloudwatch", region_name="us-east-1"), "local-ok",
                         started=datetime.now(UTC) - timedelta(minutes=2), ended=None)["series"]  # fmt: skip
    assert sorted(curves) == ["train:loss", "val:acc"] and all(curves.values())
    # The script's output is where SageMaker puts it: CloudWatch Logs, one stream for algo-1.
    logs = job_logs(boto3.client("logs", region_name="us-east-1"), "local-ok")
    assert [(e["instance"], e["message"]) for e in logs["events"]] == [
        ("algo-1", f"epoch={n} loss={1.0 / (n + 1):.4f} val_acc={0.5 + n / 10:.2f}") for n in range(3)
    ]


def test_a_failing_script_fails_the_job_with_its_reason(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**request("local-fail", FAIL="1"))
    described = wait_until(runner, "local-fail", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Failed"
    assert "exited with code 3" in described["FailureReason"] and "bad data" in described["FailureReason"]


def test_a_stop_request_stops_the_job(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**request("local-stop", SLEEP="5"))
    wait_until(runner, "local-stop", ("InProgress",))
    time.sleep(0.3)
    runner.stop_training_job(TrainingJobName="local-stop")
    described = wait_until(runner, "local-stop", ("Stopped", "Completed", "Failed"))
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "Stopped")
    with pytest.raises(ClientError) as caught:
        runner.stop_training_job(TrainingJobName="local-stop")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_max_runtime_stops_the_job_as_sagemaker_does(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**request("local-slow", SLEEP="5", MAX_RUNTIME="1"))
    described = wait_until(runner, "local-slow", ("Stopped", "Completed", "Failed"))
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_the_same_name_twice_is_resource_in_use(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**request("local-dup"))
    with pytest.raises(ClientError) as caught:
        runner.create_training_job(**request("local-dup"))
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    runner.wait()


def test_code_that_cannot_be_found_fails_the_job_plainly(local: Any) -> None:
    runner, _ = local
    req = request("local-nocode")
    req["HyperParameters"].pop("sagemaker_submit_directory")
    runner.create_training_job(**req)
    described = wait_until(runner, "local-nocode", ("Failed", "Completed"))
    assert "sagemaker_submit_directory" in described["FailureReason"]


def test_cancelling_a_running_job_through_the_service_returns_true(
    local: Any, db: Session, aws_resources: Settings
) -> None:
    runner, _ = local
    service = SageMakerTrainingService(aws_resources, sagemaker_client=runner)
    config = TrainingConfig(
        job_name="svc-cancel",
        hyperparameters={
            "epochs": "3",
            "sagemaker_submit_directory": "s3://trainforge-artifacts/code/sourcedir.tar.gz",
            "sagemaker_program": "train.py",
        },
        environment_variables={"SLEEP": "5"},
    )
    job_id = service.submit_training_job(
        config, "s3://trainforge-datasets/datasets/rows/", "s3://trainforge-artifacts/output/",
        aws_resources.execution_role_arn, "local", db,
    )  # fmt: skip
    wait_until(runner, "svc-cancel", ("InProgress",))
    assert service.cancel_training_job(job_id, db) is True
    assert service.get_job_status(job_id, db)["status"] == "Stopping"
    wait_until(runner, "svc-cancel", ("Stopped",))


def test_metric_values_are_published_as_they_match(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**request("local-curve", SLEEP="1.05"))  # one epoch a second: one point each
    assert (
        wait_until(runner, "local-curve", ("Completed", "Failed"), timeout=60)["TrainingJobStatus"]
        == "Completed"
    )
    curves = job_metrics(boto3.client("cloudwatch", region_name="us-east-1"), "local-curve",
                         started=datetime.now(UTC) - timedelta(minutes=2), ended=None)["series"]  # fmt: skip
    assert [p["value"] for p in curves["train:loss"]] == [1.0, 0.5, 0.3333]
    assert [p["value"] for p in curves["val:acc"]] == [0.5, 0.6, 0.7]


class FlakyS3:
    """S3 whose first downloads fail with S3's own internal error: a failure of SageMaker's side, not the script's."""

    def __init__(self, failures: int) -> None:
        self.real = boto3.client("s3", region_name="us-east-1")
        self.failures = failures

    def download_file(self, *args: Any, **kwargs: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}},
                              "GetObject")  # fmt: skip
        self.real.download_file(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_an_internal_failure_is_retried_from_starting_when_the_job_has_a_retry_strategy(local: Any) -> None:
    runner, events = local
    flaky = LocalSageMaker(runner.settings, emit=events.append, s3_client=FlakyS3(failures=1))
    flaky.create_training_job(**request("local-retry"), RetryStrategy={"MaximumRetryAttempts": 2})
    described = wait_until(flaky, "local-retry", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    steps = [(t["Status"], t["StatusMessage"]) for t in described["SecondaryStatusTransitions"]]
    assert [s for s, _ in steps] == ["Starting", "Downloading", "Starting", "Downloading", "Training", "Uploading",
                                     "Completed"]  # fmt: skip
    assert steps[2][1] == "Retrying the training job after an internal error (attempt 2 of 3)"


def test_without_a_retry_strategy_an_internal_failure_fails_the_job(local: Any) -> None:
    runner, events = local
    flaky = LocalSageMaker(runner.settings, emit=events.append, s3_client=FlakyS3(failures=1))
    flaky.create_training_job(**request("local-no-retry"))
    described = wait_until(flaky, "local-no-retry", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Failed" and "InternalError" in described["FailureReason"]


RESUMABLE = """
import json, os, time
folder = os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
state = os.path.join(folder, "state.json")
start = json.load(open(state))["epoch"] + 1 if os.path.exists(state) else 0
print(f"start={start}", flush=True)
for epoch in range(start, 12):
    time.sleep(0.1)
    json.dump({"epoch": epoch}, open(state, "w"))
    print(f"epoch={epoch}", flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("trained")
"""


def test_a_spot_interruption_restarts_the_job_from_its_checkpoints(local: Any) -> None:
    runner, _ = local
    s3 = boto3.client("s3", region_name="us-east-1")
    upload_code("resumable", RESUMABLE)
    config = TrainingConfig(
        job_name="local-spot", use_spot_instances=True, max_runtime_seconds=60, max_wait_seconds=120,
        checkpoint_s3_uri="s3://trainforge-artifacts/checkpoints/local-spot/",
        hyperparameters={"sagemaker_submit_directory": "s3://trainforge-artifacts/code/resumable.tar.gz",
                         "sagemaker_program": "train.py"},
        metric_definitions=[{"Name": "start", "Regex": r"start=([0-9]+)"}, {"Name": "epoch", "Regex": r"epoch=([0-9]+)"}],
    )  # fmt: skip
    runner.create_training_job(
        **SageMakerJobConfig.from_training_config(
            config, input_data_s3_uri="s3://trainforge-datasets/datasets/rows/",
            output_s3_uri="s3://trainforge-artifacts/output/",
            role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution", image_uri="local",
        ).to_sagemaker_config()
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while runner.jobs["local-spot"].metrics.get("epoch", -1) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.interrupt_training_job(TrainingJobName="local-spot")
    described = wait_until(runner, "local-spot", ("Completed", "Failed"))
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    steps = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert steps == ["Starting", "Downloading", "Training", "Interrupted", "Starting", "Downloading", "Training",
                     "Uploading", "Completed"]  # fmt: skip
    resumed_at = runner.jobs["local-spot"].metrics["start"]
    assert 3 <= resumed_at < 12, "the second attempt started after the epochs the first had checkpointed"
    saved = s3.get_object(Bucket="trainforge-artifacts", Key="checkpoints/local-spot/state.json")[
        "Body"
    ].read()
    assert json.loads(saved) == {"epoch": 11}
