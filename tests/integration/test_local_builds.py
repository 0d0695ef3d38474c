from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from trainforge.builds.records import build_change_from_event
from trainforge.local.aws.codebuild import NO_IMAGE_NOTE, LocalContainerBuilder
from trainforge.local.sagemaker.runner import LocalSageMaker, local_sagemaker
from trainforge.settings import Settings


def test_a_local_build_records_the_image_and_says_no_image_was_built(
    aws_resources: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(aws_resources, local_work_dir=str(tmp_path))
    events: list[dict[str, Any]] = []
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('hello')\n")
    builder = LocalContainerBuilder(settings, emit=events.append, source_dir=tmp_path / "src")
    image = builder.build_training_container("python:3.12-slim", "v1")
    assert image.endswith("trainforge-training:v1")
    changes = [build_change_from_event(e) for e in events]
    assert [c.status for c in changes] == ["IN_PROGRESS", "SUCCEEDED"]
    assert changes[1].image_digest and changes[1].image_digest.startswith("sha256:")
    assert NO_IMAGE_NOTE in events[1]["detail"]["current-phase-context"]
    built = local_sagemaker(settings).images[image]
    assert (built.code / "train.py").read_text() == "print('hello')\n"
    assert built.environment["SAGEMAKER_PROGRAM"] == "train.py"  # as its Dockerfile's ENV says


def run_on(settings: Settings, image: str, name: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    runner = LocalSageMaker(settings)
    request = {
        "TrainingJobName": name, "RoleArn": settings.execution_role_arn,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters, "InputDataConfig": [],
        "OutputDataConfig": {"S3OutputPath": "s3://trainforge-artifacts/output/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }  # fmt: skip
    runner.create_training_job(**request)
    runner.wait()
    return runner.describe_training_job(TrainingJobName=name)


def test_a_job_on_a_local_image_runs_the_images_entry_point_unless_the_job_names_another(
    aws_resources: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(aws_resources, local_work_dir=str(tmp_path))
    source = tmp_path / "myproj"
    source.mkdir()
    (source / "fit.py").write_text("import os, sys; assert os.environ['SM_USER_ENTRY_POINT'] == 'fit.py'\n")
    (source / "other.py").write_text("print('the job named this one')\n")
    builder = LocalContainerBuilder(settings, emit=lambda _e: None, source_dir=source, entry_point="fit.py")
    image = builder.build_training_container("python:3.12-slim", "fit")
    ran = run_on(settings, image, "image-entry-point", {})
    assert ran["TrainingJobStatus"] == "Completed", ran.get("FailureReason")
    assert [t["Status"] for t in ran["SecondaryStatusTransitions"]][-1] == "Completed"
    named = run_on(settings, image, "script-mode-entry-point", {"sagemaker_program": '"other.py"'})
    assert named["TrainingJobStatus"] == "Completed", named.get("FailureReason")
    log = (tmp_path / "training" / "script-mode-entry-point" / "output" / "training.log").read_text()
    assert "the job named this one" in log
