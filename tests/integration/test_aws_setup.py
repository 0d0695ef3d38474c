"""Execution role, configuration checks, dataset upload and container builds against moto's server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from trainforge.datasets.preparation import MANIFEST_NAME
from trainforge.errors import DatasetValidationError, DockerContainerError, SageMakerConfigurationError
from trainforge.services.sagemaker_training_service import SageMakerContainerBuilder, SageMakerTrainingService
from trainforge.settings import Settings


def test_the_execution_role_trusts_only_sagemaker_and_is_idempotent(settings: Settings) -> None:
    service = SageMakerTrainingService(settings)
    arn = service.create_execution_role("team-a-training")
    assert arn.endswith(":role/trainforge/team-a-training")
    assert service.create_execution_role("team-a-training") == arn
    iam = boto3.client("iam", region_name=settings.region)
    role = iam.get_role(RoleName="team-a-training")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    policy = iam.get_role_policy(RoleName="team-a-training", PolicyName="trainforge-training-access")[
        "PolicyDocument"
    ]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    for statement in policy["Statement"]:
        assert "*" not in statement["Action"]
        if statement["Resource"] == ["*"]:
            assert statement["Action"] in (["ecr:GetAuthorizationToken"], ["cloudwatch:PutMetricData"])


def test_a_bad_role_name_is_refused(settings: Settings) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        SageMakerTrainingService(settings).create_execution_role("no spaces allowed")
    assert caught.value.field == "role_name"


def test_validation_reports_each_check_with_a_fix(settings: Settings) -> None:
    result = SageMakerTrainingService(settings).validate_configuration()
    by_name = {c["name"]: c for c in result["checks"]}
    assert set(by_name) == {
        "credentials",
        "execution_role",
        "datasets_bucket",
        "artifacts_bucket",
        "ecr_repository",
        "instance_quota",
    }
    assert result["valid"] is False
    assert by_name["credentials"]["ok"] is True
    assert by_name["datasets_bucket"]["ok"] is False and by_name["datasets_bucket"]["fix"]
    assert by_name["instance_quota"]["ok"] is None  # moto has no SageMaker quotas: unknown, not failed


def test_validation_passes_once_the_resources_exist(aws_resources: Settings) -> None:
    result = SageMakerTrainingService(aws_resources).validate_configuration()
    assert result["valid"] is True, result
    assert all(c["ok"] in (True, None) for c in result["checks"])


def test_a_role_that_does_not_trust_sagemaker_fails_validation(aws_resources: Settings) -> None:
    iam = boto3.client("iam", region_name=aws_resources.region)
    iam.update_assume_role_policy(
        RoleName="trainforge-sagemaker-execution",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    checks = {
        c["name"]: c for c in SageMakerTrainingService(aws_resources).validate_configuration()["checks"]
    }
    assert checks["execution_role"]["ok"] is False and "trust" in checks["execution_role"]["fix"]


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "big.bin").write_bytes(b"\0" * (17 * 1024 * 1024))  # over the multipart threshold
    metadata = folder / "metadata.csv"
    metadata.write_text("file\na.csv\nbig.bin\n")
    return folder, metadata


def test_upload_puts_files_then_the_manifest_last(
    aws_resources: Settings, dataset: tuple[Path, Path]
) -> None:
    folder, metadata = dataset
    sent: list[str] = []
    uri = SageMakerTrainingService(aws_resources).upload_training_data(
        str(folder),
        str(metadata),
        aws_resources.datasets_bucket,
        "datasets/churn",
        progress=lambda p, n: sent.append(p),
    )
    assert uri == f"s3://{aws_resources.datasets_bucket}/datasets/churn/"
    s3 = boto3.client("s3", region_name=aws_resources.region)
    objects = s3.list_objects_v2(Bucket=aws_resources.datasets_bucket, Prefix="datasets/churn/")["Contents"]
    keys = {o["Key"]: o for o in objects}
    assert set(keys) == {f"datasets/churn/{n}" for n in ("a.csv", "big.bin", "metadata.csv", MANIFEST_NAME)}
    last = max(objects, key=lambda o: o["LastModified"])
    assert last["LastModified"] == keys[f"datasets/churn/{MANIFEST_NAME}"]["LastModified"]
    head = s3.head_object(Bucket=aws_resources.datasets_bucket, Key="datasets/churn/big.bin")
    assert "-" in head["ETag"], "a file over the threshold goes up in parts"
    manifest = json.loads(
        s3.get_object(Bucket=aws_resources.datasets_bucket, Key=f"datasets/churn/{MANIFEST_NAME}")[
            "Body"
        ].read()
    )
    assert manifest["file_count"] == 2
    assert "a.csv" in sent


def test_an_interrupted_upload_resumes_skipping_what_arrived(
    aws_resources: Settings, dataset: tuple[Path, Path]
) -> None:
    folder, metadata = dataset
    service = SageMakerTrainingService(aws_resources)
    service.upload_training_data(str(folder), str(metadata), aws_resources.datasets_bucket, "datasets/resume")
    uploads: list[str] = []
    s3 = service.client("s3")
    original = s3.upload_file

    def counting(filename: str, *args: Any, **kwargs: Any) -> Any:
        uploads.append(Path(filename).name)
        return original(filename, *args, **kwargs)

    s3.upload_file = counting
    try:
        (folder / "a.csv").write_text("x,y\n3,4\n")  # changed: must go up again
        service.upload_training_data(
            str(folder), str(metadata), aws_resources.datasets_bucket, "datasets/resume"
        )
    finally:
        s3.upload_file = original
    assert uploads == ["a.csv", "metadata.csv"]


def test_an_invalid_dataset_uploads_nothing(aws_resources: Settings, tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("file\nmissing.txt\n")
    with pytest.raises(DatasetValidationError):
        SageMakerTrainingService(aws_resources).upload_training_data(
            str(tmp_path), str(tmp_path / "m.csv"), aws_resources.datasets_bucket, "datasets/x"
        )
    s3 = boto3.client("s3", region_name=aws_resources.region)
    assert s3.list_objects_v2(Bucket=aws_resources.datasets_bucket).get("KeyCount") == 0


def test_a_prefix_with_dot_dot_is_refused(aws_resources: Settings, dataset: tuple[Path, Path]) -> None:
    folder, metadata = dataset
    with pytest.raises(SageMakerConfigurationError) as caught:
        SageMakerTrainingService(aws_resources).upload_training_data(
            str(folder), str(metadata), aws_resources.datasets_bucket, "datasets/../../etc"
        )
    assert caught.value.field == "s3_prefix"


def test_a_container_build_starts_in_codebuild_with_its_source(
    aws_resources: Settings, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text("print('training')\n")
    builder = SageMakerContainerBuilder(aws_resources, source_dir=tmp_path)
    image_uri = builder.build_training_container("python:3.12-slim", "v1")
    assert image_uri == f"{aws_resources.ecr_repository_uri}:v1"
    assert builder.last_build is not None
    codebuild = boto3.client("codebuild", region_name=aws_resources.region)
    builds = codebuild.batch_get_builds(ids=[builder.last_build.build_id])["builds"]
    assert builds and builds[0]["projectName"] == aws_resources.codebuild_project
    key = builder.last_build.source_uri.split("/", 3)[3]
    s3 = boto3.client("s3", region_name=aws_resources.region)
    assert s3.head_object(Bucket=aws_resources.artifacts_bucket, Key=key)["ContentLength"] > 0


def test_a_build_without_its_project_fails_with_the_reason(settings: Settings) -> None:
    boto3.client("s3", region_name=settings.region).create_bucket(Bucket=settings.artifacts_bucket)
    with pytest.raises(DockerContainerError, match="CodeBuild could not start"):
        SageMakerContainerBuilder(settings).build_training_container("python:3.12-slim", "v1")


def test_a_bad_tag_is_a_container_error_naming_it(aws_resources: Settings) -> None:
    with pytest.raises(DockerContainerError) as caught:
        SageMakerContainerBuilder(aws_resources).build_training_container("python:3.12-slim", "-bad")
    assert caught.value.field == "tag"


def test_push_to_ecr_copies_an_image_between_repositories(aws_resources: Settings) -> None:
    ecr = boto3.client("ecr", region_name=aws_resources.region)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": "sha256:" + "a" * 64,
            },
            "layers": [],
        }
    )
    ecr.put_image(repositoryName=aws_resources.ecr_repository_name, imageManifest=manifest, imageTag="v1")
    target = ecr.create_repository(repositoryName="team-b/training")["repository"]["repositoryUri"]
    builder = SageMakerContainerBuilder(aws_resources)
    assert builder.push_to_ecr("v1", target) == f"{target}:v1"
    assert builder.push_to_ecr("v1", target) == f"{target}:v1"  # again: already there is fine
    tags = [i.get("imageTag") for i in ecr.list_images(repositoryName="team-b/training")["imageIds"]]
    assert tags == ["v1"]


def test_push_to_ecr_of_a_missing_image_fails_clearly(aws_resources: Settings) -> None:
    boto3.client("ecr", region_name=aws_resources.region).create_repository(repositoryName="team-c")
    target = f"{aws_resources.ecr_repository_uri.split('/')[0]}/team-c"
    with pytest.raises(DockerContainerError, match="cannot copy"):
        SageMakerContainerBuilder(aws_resources).push_to_ecr("missing-tag", target)


def test_waiting_for_a_build_returns_it_when_codebuild_says_succeeded(
    aws_resources: Settings, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text("print('training')\n")
    builder = SageMakerContainerBuilder(aws_resources, source_dir=tmp_path)
    started = builder.start_build("python:3.12-slim", "v2")
    assert builder.wait_for_build(started.build_id, poll_seconds=0)["buildStatus"] == "SUCCEEDED"
    with pytest.raises(DockerContainerError, match="knows no build"):
        builder.wait_for_build("trainforge-image-builds:no-such-build", poll_seconds=0)


def test_a_failed_build_is_explained_by_its_failed_phase() -> None:
    from trainforge.services.sagemaker_training_service import build_failure_reason

    build = {
        "buildStatus": "FAILED",
        "phases": [
            {"phaseType": "PROVISIONING", "phaseStatus": "SUCCEEDED"},
            {
                "phaseType": "BUILD",
                "phaseStatus": "FAILED",
                "contexts": [{"message": "docker build exited 1"}],
            },
        ],
    }
    assert build_failure_reason(build) == "phase BUILD FAILED: docker build exited 1"
    assert build_failure_reason({"buildStatus": "FAULT", "phases": []}) == "FAULT"
