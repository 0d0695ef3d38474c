"""A hyperparameter tuning job as a user asks for it: the objective, the ranges to search, the strategy and its
limits, and the training job each trial runs (a :class:`TrainingConfig`). Validated like ``TrainingConfig``:
every problem named with its field; turned into ``CreateHyperParameterTuningJob``'s request."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trainforge.errors import InvalidJobConfigurationError, Problem
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models.sagemaker_limits import (
    MAX_CATEGORICAL_VALUES,
    MAX_TUNING_PARALLEL_JOBS,
    MAX_TUNING_RANGES,
    MAX_TUNING_TRAINING_JOBS,
    TUNING_JOB_NAME_PATTERN,
)

STRATEGIES = ("Bayesian", "Random", "Hyperband", "Grid")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
KINDS = ("continuous", "integer", "categorical")
MAX_RANGES, MAX_TRAINING_JOBS, MAX_PARALLEL_JOBS = (
    MAX_TUNING_RANGES,
    MAX_TUNING_TRAINING_JOBS,
    MAX_TUNING_PARALLEL_JOBS,
)
# What a trial's training job keeps from the CreateTrainingJob request Trainforge would send for it.
DEFINITION_KEYS = (
    "AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
    "StoppingCondition", "EnableManagedSpotTraining", "CheckpointConfig", "VpcConfig", "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption", "Environment", "RetryStrategy",
)  # fmt: skip


# What a tuning job's trials cannot take from ``training`` (SageMaker starts the trials; they run the tuning
# job's image).
NOT_FOR_TRIALS = {
    "image_uri": "the trials run the tuning job's image: give it as image_uri (beside dataset_uri), not in training",
    "priority": "a tuning job's trials are started by SageMaker, not admitted from Trainforge's queue",
    "max_queue_seconds": "a tuning job's trials are started by SageMaker, not admitted from Trainforge's queue",
}
_DEFAULTS = TrainingConfig(job_name="defaults")


@dataclass(frozen=True)
class ParameterRange:
    name: str
    kind: str  # continuous, integer, categorical
    min_value: float | None = None
    max_value: float | None = None
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    def problems(self, where: str) -> list[Problem]:
        found: list[Problem] = []
        if not isinstance(self.name, str) or not re.fullmatch(r"[\w.:-]{1,256}", self.name):
            found.append(Problem(f"{where}.name", "must be a hyperparameter name (letters, digits, _ . : -)"))
        if self.kind not in KINDS:
            found.append(Problem(f"{where}.kind", f"must be one of {', '.join(KINDS)}"))
            return found
        if self.kind == "categorical":
            if not 1 <= len(self.values) <= MAX_CATEGORICAL_VALUES or len(set(self.values)) != len(
                self.values
            ):
                found.append(
                    Problem(f"{where}.values", f"must be 1 to {MAX_CATEGORICAL_VALUES} distinct values")
                )
            return found
        low, high = self.min_value, self.max_value
        if not _number(low) or not _number(high) or not low < high:  # type: ignore[operator]
            found.append(Problem(f"{where}.min_value", "must be a number below max_value"))
            return found
        if self.kind == "integer" and (low != int(low) or high != int(high)):  # type: ignore[arg-type]
            found.append(Problem(f"{where}.min_value", "integer ranges take whole numbers"))
        if self.scaling not in SCALINGS:
            found.append(Problem(f"{where}.scaling", f"must be one of {', '.join(SCALINGS)}"))
        elif self.scaling == "Logarithmic" and low <= 0:  # type: ignore[operator]
            found.append(Problem(f"{where}.min_value", "logarithmic scaling needs a range above 0"))
        elif self.scaling == "ReverseLogarithmic" and (
            self.kind == "integer" or low < 0 or high >= 1  # type: ignore[operator]
        ):
            found.append(
                Problem(f"{where}.scaling", "reverse logarithmic scaling is for continuous ranges in [0, 1)")
            )
        return found

    def to_sagemaker(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"Name": self.name, "Values": list(self.values)}
        low, high = float(self.min_value or 0), float(self.max_value or 0)
        as_text = (lambda v: str(int(v))) if self.kind == "integer" else repr
        return {
            "Name": self.name,
            "MinValue": as_text(low),
            "MaxValue": as_text(high),
            "ScalingType": self.scaling,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParameterRange:
        values = data.get("values") or ()
        return cls(
            name=data.get("name"),  # type: ignore[arg-type]
            kind=data.get("kind", "continuous"),
            min_value=data.get("min_value"),
            max_value=data.get("max_value"),
            scaling=data.get("scaling") or "Auto",
            values=tuple(str(v) for v in values) if isinstance(values, (list, tuple)) else (),
        )


def _grid_size(ranges: tuple[ParameterRange, ...]) -> int:
    return math.prod(len(r.values) for r in ranges) if ranges else 0


def _total_jobs(strategy: Any, max_jobs: int | None, ranges: tuple[ParameterRange, ...]) -> int:
    return _grid_size(ranges) if strategy == "Grid" else (max_jobs or 1)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class TuningConfig:
    tuning_job_name: str
    objective_metric: str
    training: TrainingConfig
    parameter_ranges: tuple[ParameterRange, ...] = ()
    objective_type: str = "Maximize"
    strategy: str = "Bayesian"
    max_jobs: int | None = None
    max_parallel_jobs: int = 1
    early_stopping: str = "Off"
    random_seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def grid_size(self) -> int:
        return _grid_size(self.parameter_ranges)

    @property
    def total_jobs(self) -> int:
        """How many trials it runs at most (Grid: every combination)."""
        return _total_jobs(self.strategy, self.max_jobs, self.parameter_ranges)

    @staticmethod
    def total_jobs_of(stored: Mapping[str, Any]) -> int:
        """``total_jobs`` of a stored request, read without validating it again (a listing must not fail on a
        record an older release accepted)."""
        ranges = tuple(
            ParameterRange.from_dict(r)
            for r in stored.get("parameter_ranges") or ()
            if isinstance(r, Mapping)
        )
        max_jobs = stored.get("max_jobs")
        return _total_jobs(stored.get("strategy"), max_jobs if isinstance(max_jobs, int) else None, ranges)

    def problems(self) -> list[Problem]:
        found = [Problem(f"training.{p.field}", p.message) for p in self.training.problems()]
        found += [Problem(key, "is not a tuning setting") for key in sorted(self.extra)]
        # A trial's settings that a tuning job cannot honour are refused, never dropped.
        found += [
            Problem(f"training.{name}", why)
            for name, why in NOT_FOR_TRIALS.items()
            if getattr(self.training, name) != getattr(_DEFAULTS, name)
        ]
        name = self.tuning_job_name
        if not isinstance(name, str) or len(name) > 32 or not TUNING_JOB_NAME_PATTERN.fullmatch(name):
            found.append(
                Problem("tuning_job_name", "must be 1-32 letters, digits and hyphens (SageMaker's limit)")
            )
        if self.objective_type not in OBJECTIVE_TYPES:
            found.append(Problem("objective_type", "must be Maximize or Minimize"))
        names = {d.get("Name") for d in self.training.metric_definitions if isinstance(d, Mapping)}
        if self.objective_metric not in names:
            found.append(
                Problem(
                    "objective_metric", "must be one of training.metric_definitions (how SageMaker reads it)"
                )
            )
        if self.strategy not in STRATEGIES:
            found.append(Problem("strategy", f"must be one of {', '.join(STRATEGIES)}"))
        if not 1 <= len(self.parameter_ranges) <= MAX_RANGES:
            found.append(Problem("parameter_ranges", f"must name 1 to {MAX_RANGES} hyperparameters"))
        seen: set[str] = set()
        for index, searched in enumerate(self.parameter_ranges):
            found += searched.problems(f"parameter_ranges.{index}")
            if searched.name in seen:
                found.append(Problem(f"parameter_ranges.{index}.name", "is searched twice"))
            if searched.name in self.training.hyperparameters:
                found.append(Problem(f"parameter_ranges.{index}.name", "is also a fixed hyperparameter"))
            seen.add(searched.name)
        if self.strategy == "Grid":
            if any(r.kind != "categorical" for r in self.parameter_ranges):
                found.append(Problem("strategy", "Grid searches categorical ranges only"))
            elif self.max_jobs is not None and self.max_jobs != self.grid_size():
                found.append(
                    Problem("max_jobs", f"Grid runs every combination ({self.grid_size()}): omit max_jobs")
                )
        elif not isinstance(self.max_jobs, int) or not 1 <= self.max_jobs <= MAX_TRAINING_JOBS:
            found.append(Problem("max_jobs", f"must be 1 to {MAX_TRAINING_JOBS}"))
        if (
            not isinstance(self.max_parallel_jobs, int)
            or not 1 <= self.max_parallel_jobs <= MAX_PARALLEL_JOBS
        ):
            found.append(Problem("max_parallel_jobs", f"must be 1 to {MAX_PARALLEL_JOBS}"))
        if self.early_stopping not in ("Off", "Auto"):
            found.append(Problem("early_stopping", "must be Off or Auto"))
        elif self.early_stopping == "Auto" and self.strategy == "Hyperband":
            found.append(Problem("early_stopping", "Hyperband stops trials itself: leave early_stopping Off"))
        return found

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidJobConfigurationError.from_problems(problems, "tuning job")

    def combinations(self) -> list[dict[str, str]]:
        """Grid's trials: every combination of the categorical values, in order."""
        ranges = [r for r in self.parameter_ranges if r.kind == "categorical"]
        return [
            {r.name: value for r, value in zip(ranges, chosen, strict=True)}
            for chosen in itertools.product(*(r.values for r in ranges))
        ]

    def to_sagemaker_request(self, training_request: Mapping[str, Any]) -> dict[str, Any]:
        """``CreateHyperParameterTuningJob``'s request, each trial defined by the ``CreateTrainingJob`` request
        Trainforge would send for ``training`` (its hyperparameters become the static ones)."""
        ranges: dict[str, list[dict[str, Any]]] = {
            "ContinuousParameterRanges": [],
            "IntegerParameterRanges": [],
            "CategoricalParameterRanges": [],
        }
        for searched in self.parameter_ranges:
            ranges[f"{searched.kind.capitalize()}ParameterRanges"].append(searched.to_sagemaker())
        config: dict[str, Any] = {
            "Strategy": self.strategy,
            "HyperParameterTuningJobObjective": {
                "Type": self.objective_type,
                "MetricName": self.objective_metric,
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": self.total_jobs,
                "MaxParallelTrainingJobs": self.max_parallel_jobs,
            },
            "ParameterRanges": {k: v for k, v in ranges.items() if v},
            "TrainingJobEarlyStoppingType": self.early_stopping,
        }
        if self.random_seed is not None:
            config["RandomSeed"] = self.random_seed
        definition = {k: training_request[k] for k in DEFINITION_KEYS if k in training_request}
        definition["StaticHyperParameters"] = dict(training_request.get("HyperParameters", {}))
        request: dict[str, Any] = {
            "HyperParameterTuningJobName": self.tuning_job_name,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
        }
        if training_request.get("Tags"):
            request["Tags"] = training_request["Tags"]
        return request

    def to_dict(self) -> dict[str, Any]:
        return {
            "tuning_job_name": self.tuning_job_name,
            "objective_metric": self.objective_metric,
            "objective_type": self.objective_type,
            "strategy": self.strategy,
            "max_jobs": self.max_jobs,
            "max_parallel_jobs": self.max_parallel_jobs,
            "early_stopping": self.early_stopping,
            "random_seed": self.random_seed,
            "parameter_ranges": [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "min_value": r.min_value,
                    "max_value": r.max_value,
                    "scaling": r.scaling,
                    "values": list(r.values),
                }
                for r in self.parameter_ranges
            ],
            "training": self.training.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuningConfig:
        """From a request or a stored record (``training`` without a job name gets the tuning job's)."""
        known = {"tuning_job_name", "objective_metric", "objective_type", "strategy", "max_jobs",
                 "max_parallel_jobs", "early_stopping", "random_seed", "parameter_ranges", "training"}  # fmt: skip
        name = data.get("tuning_job_name")
        training = dict(data.get("training") or {})
        training.setdefault("job_name", name if isinstance(name, str) and name else "trial")
        ranges = data.get("parameter_ranges") or []
        try:
            trial = TrainingConfig.from_dict(training)
        except InvalidJobConfigurationError as exc:
            problems = [Problem(f"training.{p.field}", p.message) for p in exc.problems]
            raise InvalidJobConfigurationError.from_problems(problems, "tuning job") from None
        return cls(
            tuning_job_name=name,  # type: ignore[arg-type]
            objective_metric=data.get("objective_metric"),  # type: ignore[arg-type]
            objective_type=data.get("objective_type") or "Maximize",
            strategy=data.get("strategy") or "Bayesian",
            max_jobs=data.get("max_jobs"),
            max_parallel_jobs=1 if data.get("max_parallel_jobs") is None else data["max_parallel_jobs"],
            early_stopping=data.get("early_stopping") or "Off",
            random_seed=data.get("random_seed"),
            parameter_ranges=tuple(ParameterRange.from_dict(r) for r in ranges if isinstance(r, Mapping)),
            training=trial,
            extra={k: v for k, v in data.items() if k not in known},
        )
