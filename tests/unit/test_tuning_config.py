"""Tuning requests: validated like a training job (every problem named), and accepted by botocore's own shape
for CreateHyperParameterTuningJob; the local tuner's draws stay within each range and its scaling."""

from __future__ import annotations

import math
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tests.unit.test_job_config import job_config
from trainforge.errors import InvalidJobConfigurationError
from trainforge.local.sagemaker.tuner import draw_trials
from trainforge.tuning.config import TuningConfig

METRICS = [{"Name": "validation:accuracy", "Regex": "val_acc=([0-9.]+)"}]


@pytest.fixture(scope="module")
def create_tuning_input() -> object:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateHyperParameterTuningJob").input_shape


def tuning(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "tuning_job_name": "churn-tune-1",
        "objective_metric": "validation:accuracy",
        "strategy": "Random",
        "max_jobs": 6,
        "max_parallel_jobs": 2,
        "parameter_ranges": [
            {
                "name": "lr",
                "kind": "continuous",
                "min_value": 0.001,
                "max_value": 0.5,
                "scaling": "Logarithmic",
            },
            {"name": "epochs", "kind": "integer", "min_value": 5, "max_value": 40},
            {"name": "optimizer", "kind": "categorical", "values": ["sgd", "adam"]},
        ],
        "training": {
            "instance_type": "ml.m5.large",
            "metric_definitions": METRICS,
            "hyperparameters": {"seed": 7},
        },
    }
    values.update(changes)
    return values


def test_the_request_is_valid_for_botocore(create_tuning_input: object) -> None:
    config = TuningConfig.from_dict(tuning())
    config.validate()
    trial = job_config(hyperparameters={"seed": "7"}, metric_definitions=METRICS).to_sagemaker_config()
    request = config.to_sagemaker_request(trial)
    report = ParamValidator().validate(request, create_tuning_input)
    assert not report.has_errors(), report.generate_report()
    ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
    ]
    assert ranges["IntegerParameterRanges"][0]["MinValue"] == "5"
    assert request["TrainingJobDefinition"]["StaticHyperParameters"] == {"seed": "7"}
    assert "TrainingJobName" not in request["TrainingJobDefinition"]


def test_grid_runs_every_combination_of_categorical_values(create_tuning_input: object) -> None:
    ranges = [{"name": "lr", "kind": "categorical", "values": ["0.1", "0.2", "0.3"]},
              {"name": "depth", "kind": "categorical", "values": ["2", "4"]}]  # fmt: skip
    config = TuningConfig.from_dict(tuning(strategy="Grid", max_jobs=None, parameter_ranges=ranges))
    config.validate()
    assert config.total_jobs == 6 and len(config.combinations()) == 6
    request = config.to_sagemaker_request(job_config(metric_definitions=METRICS).to_sagemaker_config())
    assert request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6
    assert not ParamValidator().validate(request, create_tuning_input).has_errors()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tuning_job_name": "a-name-longer-than-thirty-two-chars"}, "tuning_job_name"),
        ({"objective_metric": "loss"}, "objective_metric"),
        ({"max_jobs": None}, "max_jobs"),
        ({"max_parallel_jobs": 0}, "max_parallel_jobs"),
        ({"strategy": "Grid", "max_jobs": None}, "strategy"),
        ({"strategy": "Hyperband", "early_stopping": "Auto"}, "early_stopping"),
        (
            {
                "parameter_ranges": [
                    {
                        "name": "lr",
                        "kind": "continuous",
                        "min_value": 0,
                        "max_value": 1,
                        "scaling": "Logarithmic",
                    }
                ]
            },
            "parameter_ranges.0.min_value",
        ),
        (
            {"parameter_ranges": [{"name": "seed", "kind": "integer", "min_value": 1, "max_value": 9}]},
            "parameter_ranges.0.name",
        ),
        (
            {"parameter_ranges": [{"name": "x", "kind": "continuous", "min_value": 2, "max_value": 1}]},
            "parameter_ranges.0.min_value",
        ),
        ({"parameter_ranges": []}, "parameter_ranges"),
    ],
)
def test_each_rule_names_its_field(changes: dict[str, Any], field: str) -> None:
    config = TuningConfig.from_dict(tuning(**changes))
    with pytest.raises(InvalidJobConfigurationError) as refused:
        config.validate()
    assert field in [p.field for p in refused.value.problems]


def test_a_trials_training_problems_are_named_under_training() -> None:
    with pytest.raises(InvalidJobConfigurationError) as refused:
        TuningConfig.from_dict(tuning(training={"instance_count": "two", "metric_definitions": METRICS}))
    assert [p.field for p in refused.value.problems] == ["training.instance_count"]


def test_random_draws_stay_in_range_follow_the_scaling_and_repeat_with_a_seed() -> None:
    config = TuningConfig.from_dict(tuning(max_jobs=200, random_seed=11))
    request = config.to_sagemaker_request(job_config(metric_definitions=METRICS).to_sagemaker_config())
    drawn = draw_trials(request["HyperParameterTuningJobConfig"], 200, 11)
    assert drawn == draw_trials(request["HyperParameterTuningJobConfig"], 200, 11)
    lrs = [float(t["lr"]) for t in drawn]
    assert all(0.001 <= v <= 0.5 for v in lrs)
    # log-uniform: about as many draws below the geometric middle (~0.022) as above it
    below = sum(v < math.sqrt(0.001 * 0.5) for v in lrs)
    assert 70 <= below <= 130
    assert {t["optimizer"] for t in drawn} == {"sgd", "adam"}
    assert all(5 <= int(t["epochs"]) <= 40 for t in drawn)
