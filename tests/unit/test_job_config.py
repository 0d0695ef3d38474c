from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from trainforge.job_settings.training_config import TrainingConfig
from trainforge.services.sagemaker_training_service import SageMakerJobConfig, request_problems


@pytest.fixture(scope="module")
def create_training_job_input() -> object:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateTrainingJob").input_shape


def job_config(**changes: object) -> SageMakerJobConfig:
    values: dict[str, object] = {
        "job_name": "churn-1",
        "role_arn": "arn:aws:iam::123456789012:role/trainforge-sagemaker-execution",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:v1",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "volume_size_gb": 50,
        "max_runtime_seconds": 3600,
        "input_data_s3_uri": "s3://trainforge-datasets/datasets/churn/",
        "output_s3_uri": "s3://trainforge-artifacts/output/",
        "hyperparameters": {"epochs": "10"},
        "environment_variables": {"LOG_LEVEL": "debug"},
    }
    values.update(changes)
    return SageMakerJobConfig(**values)  # type: ignore[arg-type]


def test_the_request_is_valid_for_botocore(create_training_job_input: object) -> None:
    request = job_config().to_sagemaker_config()
    report = ParamValidator().validate(request, create_training_job_input)
    assert not report.has_errors(), report.generate_report()


def test_the_request_carries_every_attribute() -> None:
    request = job_config().to_sagemaker_config()
    assert request["TrainingJobName"] == "churn-1"
    assert request["RoleArn"].endswith(":role/trainforge-sagemaker-execution")
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith(":v1")
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 2,
        "VolumeSizeInGB": 50,
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    source = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert source["S3Uri"] == "s3://trainforge-datasets/datasets/churn/"
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://trainforge-artifacts/output/"}
    assert request["HyperParameters"] == {"epochs": "10"}
    assert request["Environment"] == {"LOG_LEVEL": "debug"}
    assert {"Key": "trainforge:managed", "Value": "true"} in request["Tags"]


def test_spot_settings_reach_the_request(create_training_job_input: object) -> None:
    request = job_config(
        use_spot_instances=True, max_wait_seconds=7200, checkpoint_s3_uri="s3://trainforge-artifacts/ckpt/"
    ).to_sagemaker_config()
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request["CheckpointConfig"] == {"S3Uri": "s3://trainforge-artifacts/ckpt/"}
    assert not ParamValidator().validate(request, create_training_job_input).has_errors()


def test_from_training_config_sets_the_entry_point_and_metrics() -> None:
    config = TrainingConfig(
        job_name="j", entry_point="train.py", metric_definitions=[{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
    )
    request = SageMakerJobConfig.from_training_config(
        config,
        input_data_s3_uri="s3://b/in/",
        output_s3_uri="s3://b/out/",
        role_arn="arn:aws:iam::123456789012:role/r",
        image_uri="img:1",
    ).to_sagemaker_config()
    assert request["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "loss", "Regex": "loss=([0-9.]+)"}
    ]


def test_request_problems_name_the_outside_inputs() -> None:
    problems = request_problems(job_config(input_data_s3_uri="/tmp/data", role_arn="role", image_uri=""))
    assert {p.field for p in problems} == {"s3_input_uri", "role_arn", "image_uri"}


def test_named_channels_with_every_option_are_valid_for_botocore(create_training_job_input: object) -> None:
    from trainforge.job_settings.channels import InputChannel

    channels = [
        InputChannel("train", "s3://b/m/train.manifest", "ManifestFile", "FastFile", "text/csv", "Gzip"),
        InputChannel("validation", "s3://b/d/validation/", distribution="ShardedByS3Key", input_mode="Pipe"),
    ]
    request = job_config(channels=channels).to_sagemaker_config()
    report = ParamValidator().validate(request, create_training_job_input)
    assert not report.has_errors(), report.generate_report()
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "validation"]
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"


def test_the_contracts_single_input_is_the_training_channel() -> None:
    (channel,) = job_config().to_sagemaker_config()["InputDataConfig"]
    assert channel["ChannelName"] == "training"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://trainforge-datasets/datasets/churn/"


def test_a_named_channel_without_a_location_reads_its_subfolder_of_a_plain_folder() -> None:
    config = TrainingConfig(
        job_name="j", channels=[{"name": "train"}, {"name": "test", "s3_uri": "s3://b/t/"}]
    )
    request = SageMakerJobConfig.from_training_config(
        config, input_data_s3_uri="s3://b/data", output_s3_uri="s3://b/out/", role_arn="r", image_uri="i"
    ).to_sagemaker_config()
    uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert uris == {"train": "s3://b/data/train/", "test": "s3://b/t/"}


def test_a_field_added_since_a_job_was_recorded_is_its_default_not_a_difference() -> None:
    from datetime import UTC, datetime

    from trainforge.job_settings.sagemaker_job import submission_differences
    from trainforge.job_settings.training_config import TrainingConfig
    from trainforge.models.rows import JobRow

    recorded = TrainingConfig(job_name="old-job").to_dict()
    for added in ("priority", "max_queue_seconds"):
        recorded.pop(added)  # a job recorded before these fields existed
    values = {name: None for name in JobRow._fields}
    values.update(
        id=1, job_name="old-job", origin="trainforge", environment="sagemaker", status="Completed", status_rank=3,
        config=recorded, created_at=datetime.now(UTC), updated_at=datetime.now(UTC), notes=[], priority=0,
        capacity_held=0, input_uri="s3://b/in/", output_uri="s3://b/out/", role_arn="arn", image_uri="img",
    )  # fmt: skip
    job = JobRow(**values)
    same = {"job_name": "old-job", "input_uri": "s3://b/in/", "output_uri": "s3://b/out/", "role_arn": "arn",
            "image_uri": "img", "config": TrainingConfig(job_name="old-job").to_dict()}  # fmt: skip
    assert submission_differences(job, same) == []
    urgent = {**same, "config": TrainingConfig(job_name="old-job", priority=5).to_dict()}
    assert submission_differences(job, urgent) == ["priority"]


SECURE = {
    "keep_alive_seconds": 1800,
    "max_retry_attempts": 3,
    "vpc_subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
    "vpc_security_group_ids": ["sg-0123456789abcdef0"],
    "volume_kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "output_kms_key_id": "alias/trainforge-output",
    "enable_network_isolation": True,
    "enable_inter_container_traffic_encryption": True,
}


def test_warm_pool_retries_network_and_keys_reach_the_request_as_botocore_takes_them(
    create_training_job_input: object,
) -> None:
    config = TrainingConfig.from_dict({"job_name": "secure-1", **SECURE})
    request = SageMakerJobConfig.from_training_config(
        config,
        input_data_s3_uri="s3://trainforge-datasets/datasets/churn/",
        output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:v1",
    ).to_sagemaker_config()
    report = ParamValidator().validate(request, create_training_job_input)
    assert not report.has_errors(), report.generate_report()
    assert request["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 1800
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == SECURE["volume_kms_key_id"]
    assert request["OutputDataConfig"]["KmsKeyId"] == "alias/trainforge-output"
    assert request["RetryStrategy"] == {"MaximumRetryAttempts": 3}
    assert request["VpcConfig"] == {
        "Subnets": SECURE["vpc_subnets"],
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
    }
    assert (
        request["EnableNetworkIsolation"] is True and request["EnableInterContainerTrafficEncryption"] is True
    )
    plain = job_config().to_sagemaker_config()
    assert not {"RetryStrategy", "VpcConfig", "EnableNetworkIsolation"} & set(plain)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"keep_alive_seconds": 21601}, "keep_alive_seconds"),
        ({"max_retry_attempts": 0}, "max_retry_attempts"),
        ({"max_retry_attempts": "3"}, "max_retry_attempts"),
        ({"vpc_subnets": ["subnet-1"]}, "vpc_security_group_ids"),
        ({"vpc_subnets": ["sg-1"], "vpc_security_group_ids": ["sg-1"]}, "vpc_subnets"),
        ({"vpc_subnets": [], "vpc_security_group_ids": ["sg-1"]}, "vpc_subnets"),
        ({"volume_kms_key_id": "key with spaces"}, "volume_kms_key_id"),
        ({"enable_network_isolation": "yes"}, "enable_network_isolation"),
    ],
)
def test_security_settings_sagemaker_would_refuse_are_named(change: dict[str, object], field: str) -> None:
    from trainforge.errors import SageMakerConfigurationError

    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig.from_dict({"job_name": "secure-2", **change})
    assert field in [p.field for p in caught.value.problems]


def test_local_mode_says_what_it_does_not_emulate() -> None:
    from trainforge.local.sagemaker.unemulated import differences_from_sagemaker

    config = TrainingConfig.from_dict({"job_name": "secure-3", **SECURE})
    request = SageMakerJobConfig.from_training_config(
        config, input_data_s3_uri="s3://b/d/", output_s3_uri="s3://b/o/", role_arn="arn", image_uri="img"
    ).to_sagemaker_config()
    notes = " ".join(differences_from_sagemaker(request))
    for words in ("warm pools", "RetryStrategy", "VPC", "KMS"):
        assert words in notes


def test_a_spot_job_without_a_checkpoint_location_checkpoints_beside_its_output(
    create_training_job_input: object,
) -> None:
    config = TrainingConfig.from_dict(
        {
            "job_name": "spot-1",
            "use_spot_instances": True,
            "max_wait_seconds": 7200,
            "max_runtime_seconds": 3600,
        }
    )
    job = SageMakerJobConfig.from_training_config(
        config,
        input_data_s3_uri="s3://trainforge-datasets/datasets/churn/",
        output_s3_uri="s3://trainforge-artifacts/output",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/trainforge-training:v1",
    )
    request = job.to_sagemaker_config()
    assert request["CheckpointConfig"] == {"S3Uri": "s3://trainforge-artifacts/output/spot-1/checkpoints/"}
    assert not ParamValidator().validate(request, create_training_job_input).has_errors()
    assert request_problems(job) == []
    on_demand = TrainingConfig.from_dict({"job_name": "plain-1"})
    assert (
        "CheckpointConfig"
        not in SageMakerJobConfig.from_training_config(
            on_demand,
            input_data_s3_uri="s3://b/d/",
            output_s3_uri="s3://b/o/",
            role_arn="arn",
            image_uri="img",
        ).to_sagemaker_config()
    )


def test_distribution_reaches_sagemaker_as_the_sdk_passes_it(create_training_job_input: object) -> None:
    from trainforge.job_settings.training_config import TrainingConfig as Config

    torch = Config(job_name="ddp", instance_type="ml.p3.2xlarge", instance_count=2,
                   distribution={"torch_distributed": {"enabled": True}})  # fmt: skip
    torch.validate()
    request = SageMakerJobConfig.from_training_config(
        torch, input_data_s3_uri="s3://trainforge-datasets/datasets/churn/", output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/trainforge-sagemaker-execution", image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
    ).to_sagemaker_config()  # fmt: skip
    # the SDK's PyTorch estimator: its distribution keys, each value JSON-encoded (a string keeps its quotes)
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    assert request["HyperParameters"]["sagemaker_instance_type"] == '"ml.p3.2xlarge"'
    assert not ParamValidator().validate(request, create_training_job_input).has_errors()
    off = Config(job_name="no-mpi", distribution={"mpi": {"enabled": False}})
    off.validate()
    from trainforge.job_settings.distribution import distribution_hyperparameters

    assert distribution_hyperparameters(off.distribution, "ml.m5.large") == {"sagemaker_mpi_enabled": "false"}
    mpi = {"mpi": {"enabled": True, "processes_per_host": 4, "custom_mpi_options": "-x NCCL_DEBUG=INFO"}}
    assert distribution_hyperparameters(mpi, "ml.m5.large") == {
        "sagemaker_mpi_enabled": "true", "sagemaker_mpi_num_of_processes_per_host": "4",
        "sagemaker_mpi_custom_mpi_options": '"-x NCCL_DEBUG=INFO"',
    }  # fmt: skip


@pytest.mark.parametrize(
    ("distribution", "field"),
    [
        ({"horovod": {"enabled": True}}, "distribution.horovod"),
        ({"torch_distributed": {"enabled": "yes"}}, "distribution.torch_distributed.enabled"),
        ({"mpi": {"enabled": True, "processes_per_host": 0}}, "distribution.mpi.processes_per_host"),
        ({"torch_distributed": {"enabled": True}, "mpi": {"enabled": True}}, "distribution"),
        ([], "distribution"),
    ],
)
def test_a_bad_distribution_names_its_field(distribution: object, field: str) -> None:
    from trainforge.errors import InvalidJobConfigurationError
    from trainforge.job_settings.training_config import TrainingConfig as Config

    with pytest.raises(InvalidJobConfigurationError) as refused:
        Config(job_name="bad", distribution=distribution).validate()  # type: ignore[arg-type]
    assert field in [p.field for p in refused.value.problems]
