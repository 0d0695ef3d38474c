"""Local jobs get what the SageMaker training toolkit (sagemaker-training 5.1) gives a script in AWS's framework
containers: every SM_* variable as its ``to_env_vars`` builds it, JSON-decoded hyperparameters, sorted
arguments, output.tar.gz beside model.tar.gz, and a failure reason that ends with the exception line."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.training_code import upload_code as upload_to_s3
from trainforge.job_settings.channels import InputChannel
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.services.sagemaker_training_service import SageMakerJobConfig
from trainforge.settings import Settings

DUMP = """
import json, os, sys
env = {k: v for k, v in os.environ.items() if k.startswith("SM_")}
listing = {c: sorted(os.listdir(d)) for c, d in json.loads(os.environ["SM_TRAINING_ENV"])["channel_input_dirs"].items()}
json.dump({"env": env, "argv": sys.argv[1:], "listing": listing}, open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w"))
open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w").write("evaluation")
"""

CRASH = """
def deep(n):
    if n == 0:
        raise ValueError("the label column 'churned' has 3 classes, expected 2")
    deep(n - 1)
deep(150)
"""


def upload_code(name: str, source: str) -> str:
    return upload_to_s3(name, source, "entry.py")


@pytest.fixture
def local(aws_resources: Settings, tmp_path: Path) -> LocalSageMaker:
    return LocalSageMaker(dataclasses.replace(aws_resources, local_work_dir=str(tmp_path)))


def run(local: LocalSageMaker, name: str, code: str, **request_changes: Any) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name="us-east-1")
    for key in ("train/a.csv", "train/b.csv", "validation/v.csv", "manifest.json", "metadata.csv"):
        s3.put_object(Bucket="trainforge-datasets", Key=f"datasets/toolkit/{key}", Body=b"1,2\n")
    s3.put_object(
        Bucket="trainforge-artifacts",
        Key="output/m/train.manifest",
        Body=json.dumps([{"prefix": "s3://trainforge-datasets/datasets/toolkit/train/"}, "a.csv"]).encode(),
    )
    config = TrainingConfig(
        job_name=name,
        instance_type="ml.c5.xlarge",
        # As the SageMaker Python SDK sends them: every value JSON-encoded, strings quoted.
        hyperparameters={"epochs": "10", "lr": "0.05", "use-bias": "true", "optimizer": '"adam"', "l": '{"a": 1}',
                         "sagemaker_program": '"entry.py"', "sagemaker_submit_directory": json.dumps(code)},
    )  # fmt: skip
    channels = [
        InputChannel(
            "train",
            "s3://trainforge-artifacts/output/m/train.manifest",
            "ManifestFile",
            content_type="text/csv",
        ),
        InputChannel(
            "validation", "s3://trainforge-datasets/datasets/toolkit/validation/", input_mode="Pipe"
        ),
    ]
    request = SageMakerJobConfig.from_training_config(
        config, input_data_s3_uri="", output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution", image_uri="local", channels=channels,
    ).to_sagemaker_config()  # fmt: skip
    request.update(request_changes)
    local.create_training_job(**request)
    deadline = time.monotonic() + 60
    while (described := local.describe_training_job(TrainingJobName=name))[
        "TrainingJobStatus"
    ] == "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return described


def member(uri: str, name: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def test_a_script_sees_the_toolkits_whole_environment(local: LocalSageMaker) -> None:
    code = upload_code("dump", DUMP)
    described = run(local, "toolkit-env", code)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    seen = json.loads(member(described["ModelArtifacts"]["S3ModelArtifacts"], "seen.json"))
    env = seen["env"]
    assert json.loads(env["SM_HPS"]) == {
        "epochs": 10,
        "lr": 0.05,
        "use-bias": True,
        "optimizer": "adam",
        "l": {"a": 1},
    }
    assert (env["SM_HP_EPOCHS"], env["SM_HP_OPTIMIZER"], env["SM_HP_USE-BIAS"]) == ("10", "adam", "true")
    assert seen["argv"] == [
        "--epochs",
        "10",
        "-l",
        "a=1",
        "--lr",
        "0.05",
        "--optimizer",
        "adam",
        "--use-bias",
        "True",
    ]
    assert json.loads(env["SM_USER_ARGS"]) == seen["argv"]
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"].endswith("/input/data/train") and env["SM_CHANNEL_VALIDATION"]
    assert seen["listing"] == {
        "train": ["a.csv"],
        "validation": ["v.csv"],
    }  # a ManifestFile reads only its keys
    assert (env["SM_MODULE_DIR"], env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"]) == (
        code,
        "entry.py",
        "entry",
    )
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_instance_type"] == "ml.c5.xlarge"
    data_config = json.loads(env["SM_INPUT_DATA_CONFIG"])
    assert (
        data_config["train"]["ContentType"] == "text/csv"
        and data_config["validation"]["TrainingInputMode"] == "Pipe"
    )
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert {"hyperparameters", "channel_input_dirs", "module_dir", "job_name", "resource_config", "input_data_config",
            "output_data_dir", "additional_framework_parameters", "num_cpus", "hosts", "current_host"} <= set(training_env)  # fmt: skip
    assert (
        training_env["job_name"] == "toolkit-env"
        and "sagemaker_program" not in training_env["hyperparameters"]
    )
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {}


def test_files_written_to_the_output_data_dir_arrive_as_output_tar_gz(local: LocalSageMaker) -> None:
    described = run(local, "toolkit-output", upload_code("dump", DUMP))
    model = described["ModelArtifacts"]["S3ModelArtifacts"]
    assert member(model.replace("model.tar.gz", "output.tar.gz"), "report.txt") == b"evaluation"


def test_a_long_traceback_keeps_its_exception_line_in_the_failure_reason(local: LocalSageMaker) -> None:
    described = run(local, "toolkit-crash", upload_code("crash", CRASH))
    reason = described["FailureReason"]
    assert described["TrainingJobStatus"] == "Failed" and len(reason) <= 1024
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError")
    assert reason.rstrip().endswith("ValueError: the label column 'churned' has 3 classes, expected 2")


def test_what_local_mode_does_not_emulate_is_said(local: LocalSageMaker) -> None:
    request = {"ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 1},
               "InputDataConfig": [{"ChannelName": "train", "InputMode": "Pipe"}],
               "EnableManagedSpotTraining": True, "CheckpointConfig": {"S3Uri": "s3://b/c/"}}  # fmt: skip
    notes = " | ".join(local.unemulated(request))
    for phrase in (
        "as processes on this machine",
        "Pipe input runs as File",
        "spot",
        "SM_CHECKPOINT_DIR",
        "no accelerator",
    ):
        assert phrase in notes
