from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import pytest

from trainforge.errors import SageMakerConfigurationError
from trainforge.job_settings.training_config import TrainingConfig, TrainingEnvironment
from trainforge.models.instance_types import TRAINING_INSTANCE_TYPES
from trainforge.models.sagemaker_limits import INSTANCE_TYPE_PATTERN, TRAINING_INSTANCE_FAMILIES


def fields_of(error: SageMakerConfigurationError) -> set[str]:
    return {p.field for p in error.problems}


def test_a_minimal_config_is_valid() -> None:
    TrainingConfig(job_name="churn-model-1").validate()


@pytest.mark.parametrize(
    "name", ["", "-leading", "trailing-", "has_underscore", "a" * 64, "dots.in.name", "sp ace"]
)
def test_job_names_sagemaker_refuses_are_refused(name: str) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name=name).validate()
    assert fields_of(caught.value) == {"job_name"}


@pytest.mark.parametrize("name", ["a", "A1", "a--b", "x" * 63, "job-2026-11-28"])
def test_job_names_sagemaker_accepts_are_accepted(name: str) -> None:
    TrainingConfig(job_name=name).validate()


@pytest.mark.parametrize(
    ("instance_type", "reason"),
    [("m5.large", "look like"), ("ml.z9.large", "not offered"), ("ml.M5.large", "look like")],
)
def test_instance_types_are_checked(instance_type: str, reason: str) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="j", instance_type=instance_type).validate()
    assert fields_of(caught.value) == {"instance_type"}
    assert reason in caught.value.message


def test_instance_types_are_exactly_those_botocore_knows_for_training() -> None:
    model_dir = Path(botocore.__file__).parent / "data" / "sagemaker" / "2017-07-24"
    model_file = next(model_dir.glob("service-2.json*"))
    opener = gzip.open if model_file.suffix == ".gz" else open
    with opener(model_file, "rt") as handle:
        model = json.load(handle)
    families = set()
    for name in model["shapes"]["TrainingInstanceType"]["enum"]:
        match = INSTANCE_TYPE_PATTERN.fullmatch(name)
        assert match, name
        families.add(match.group("family"))
    assert families <= TRAINING_INSTANCE_FAMILIES, families - TRAINING_INSTANCE_FAMILIES
    listed = set(model["shapes"]["TrainingInstanceType"]["enum"])
    assert listed == TRAINING_INSTANCE_TYPES, {
        "add": sorted(listed - TRAINING_INSTANCE_TYPES),
        "drop": sorted(TRAINING_INSTANCE_TYPES - listed),
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"instance_count": 0}, "instance_count"),
        ({"instance_count": 1.5}, "instance_count"),
        ({"volume_size_gb": 0}, "volume_size_gb"),
        ({"max_runtime_seconds": 0}, "max_runtime_seconds"),
        ({"max_runtime_seconds": 28 * 24 * 3600 + 1}, "max_runtime_seconds"),
        ({"entry_point": "../escape.py"}, "entry_point"),
        ({"environment_variables": {"1BAD": "x"}}, "environment_variables.1BAD"),
        ({"environment_variables": {"OK": "x" * 513}}, "environment_variables.OK"),
        ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
    ],
)
def test_each_limit_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="j", **changes).validate()  # type: ignore[arg-type]
    assert field in fields_of(caught.value)


def test_spot_needs_max_wait_at_least_max_runtime() -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(
            job_name="j", use_spot_instances=True, max_runtime_seconds=3600, max_wait_seconds=600
        ).validate()
    assert fields_of(caught.value) == {"max_wait_seconds"}  # a checkpoint location is given by default
    TrainingConfig(
        job_name="j",
        use_spot_instances=True,
        max_runtime_seconds=3600,
        max_wait_seconds=3600,
        checkpoint_s3_uri="s3://bucket/checkpoints/j",
    ).validate()


def test_max_wait_without_spot_is_refused() -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="j", max_wait_seconds=100).validate()
    assert fields_of(caught.value) == {"max_wait_seconds"}


def test_hyperparameter_limits() -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="j", hyperparameters={f"h{i}": "1" for i in range(101)}).validate()
    assert "hyperparameters" in fields_of(caught.value)
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="j", hyperparameters={"long": "x" * 2501}).validate()
    assert fields_of(caught.value) == {"hyperparameters.long"}
    TrainingConfig(job_name="j", hyperparameters={"long": "x" * 2500}).validate()


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"Name": "loss", "Regex": "loss=(["}, "metric_definitions[0].Regex"),
        ({"Name": "loss", "Regex": "loss=[0-9.]+"}, "metric_definitions[0].Regex"),
        ({"Name": "", "Regex": "loss=([0-9.]+)"}, "metric_definitions[0].Name"),
        ({"Regex": "loss=([0-9.]+)"}, "metric_definitions[0].Name"),
    ],
)
def test_metric_definitions_must_be_valid_capturing_regexes(definition: dict[str, str], field: str) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="j", metric_definitions=[definition]).validate()
    assert field in fields_of(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="-", instance_type="bad", instance_count=0).validate()
    assert fields_of(caught.value) == {"job_name", "instance_type", "instance_count"}
    assert "job_name" in caught.value.message and "instance_count" in caught.value.message


def test_from_dict_converts_numbers_in_hyperparameters_and_names_unknown_fields() -> None:
    config = TrainingConfig.from_dict(
        {
            "job_name": "j",
            "hyperparameters": {"epochs": 10, "lr": 0.1, "shuffle": True},
            "environment": "local",
        }
    )
    assert config.hyperparameters == {"epochs": "10", "lr": "0.1", "shuffle": "true"}
    assert config.environment is TrainingEnvironment.LOCAL
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig.from_dict({"job_name": "j", "instance_cuont": 2, "volume_size_gb": "30"})
    assert fields_of(caught.value) == {"instance_cuont", "volume_size_gb"}


def test_from_dict_requires_a_job_name() -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig.from_dict({})
    assert fields_of(caught.value) == {"job_name"}


def test_to_dict_round_trips() -> None:
    config = TrainingConfig(job_name="j", hyperparameters={"a": "1"}, environment=TrainingEnvironment.LOCAL)
    assert TrainingConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("channels", "field"),
    [
        ([{"name": "train/x"}], "channels[0].name"),
        ([{"name": "train"}, {"name": "train"}], "channels[1].name"),
        ([{"name": "train", "input_mode": "Stream"}], "channels[0].input_mode"),
        ([{"name": "train", "compression": "zip"}], "channels[0].compression"),
        ([{"name": "train", "distribution": "Random"}], "channels[0].distribution"),
        ([{"name": "train", "s3_uri": "s3://b/a/../c/"}], "channels[0].s3_uri"),
        ([{"name": "train", "colour": "red"}], "channels[0].colour"),
        ([{"name": f"c{i}"} for i in range(21)], "channels"),
    ],
)
def test_channels_follow_sagemakers_rules_naming_the_field(channels: list[Any], field: str) -> None:
    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig.from_dict({"job_name": "j", "channels": channels})
    assert field in {p.field for p in caught.value.problems}


def test_a_configuration_sagemaker_would_refuse_is_both_a_configuration_and_a_job_error() -> None:
    from trainforge.errors import SageMakerJobError

    with pytest.raises(SageMakerConfigurationError) as caught:
        TrainingConfig(job_name="bad_name").validate()
    assert isinstance(caught.value, SageMakerJobError) and caught.value.field == "job_name"
