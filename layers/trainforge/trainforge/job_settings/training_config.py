"""Training configuration: everything SageMaker would reject is rejected here, before any money is spent.

``TrainingEnvironment`` is re-exported here, where the contract's callers find it with ``TrainingConfig``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from trainforge.errors import InvalidJobConfigurationError, Problem, SageMakerConfigurationError
from trainforge.inputs import INVALID_TEXT_MESSAGE, printable, unstorable_text_paths
from trainforge.job_settings.distribution import distribution_problems
from trainforge.models.instance_types import TRAINING_INSTANCE_SIZES, TRAINING_INSTANCE_TYPES
from trainforge.models.rules import PATTERN_RULES
from trainforge.models.sagemaker_limits import (
    CHANNEL_NAME_PATTERN,
    CHANNEL_OPTIONS,
    ENV_KEY_PATTERN,
    INSTANCE_TYPE_PATTERN,
    JOB_NAME_PATTERN,
    KMS_KEY_PATTERN,
    MAX_CHANNELS,
    MAX_ENVIRONMENT_VALUE,
    MAX_ENVIRONMENT_VARIABLES,
    MAX_HYPERPARAMETER_KEY,
    MAX_HYPERPARAMETER_VALUE,
    MAX_HYPERPARAMETERS,
    MAX_INSTANCE_COUNT,
    MAX_KEEP_ALIVE_SECONDS,
    MAX_METRIC_DEFINITIONS,
    MAX_PRIORITY,
    MAX_QUEUE_SECONDS,
    MAX_RETRY_ATTEMPTS,
    MAX_RUNTIME_LIMIT_SECONDS,
    MAX_SECURITY_GROUPS,
    MAX_SUBNETS,
    MAX_TAGS,
    MAX_VOLUME_GB,
    MIN_PRIORITY,
    VPC_ID_PATTERN,
)
from trainforge.models.training_settings import TrainingEnvironment, TrainingSettings
from trainforge.s3_locations import s3_uri_problem


class TrainingConfig(TrainingSettings):
    """What a user asks for: the job, its compute, its code's settings (declared in
    :mod:`trainforge.models.training_settings`). Validated by :meth:`validate`."""

    def problems(self) -> list[Problem]:
        """Every rule this configuration breaks (empty when it is valid)."""
        found: list[Problem] = []

        def bad(name: str, message: str) -> None:
            found.append(Problem(name, message))

        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for path in unstorable_text_paths(values):
            bad(path, INVALID_TEXT_MESSAGE)

        if not isinstance(self.job_name, str) or not JOB_NAME_PATTERN.fullmatch(self.job_name):
            bad(
                "job_name",
                PATTERN_RULES[JOB_NAME_PATTERN.pattern],
            )
        if self.image_uri is not None and (not isinstance(self.image_uri, str) or not self.image_uri.strip()):
            bad(
                "image_uri",
                "must be a container image URI such as <account>.dkr.ecr.<region>.amazonaws.com/repo:tag",
            )
        match = (
            INSTANCE_TYPE_PATTERN.fullmatch(self.instance_type)
            if isinstance(self.instance_type, str)
            else None
        )
        if match is None:
            bad("instance_type", "must look like ml.<family>.<size>, e.g. ml.m5.large")
        elif self.instance_type not in TRAINING_INSTANCE_TYPES:
            family, size = match.group("family"), match.group("size")
            sizes = TRAINING_INSTANCE_SIZES.get(family)
            if sizes is None:
                bad("instance_type", f"family {family!r} is not offered for SageMaker training")
            else:
                bad(
                    "instance_type",
                    f"ml.{family} has no size {size!r} for training; choose one of {', '.join(sizes)}",
                )
        _check_int(found, "instance_count", self.instance_count, 1, MAX_INSTANCE_COUNT)
        _check_int(found, "volume_size_gb", self.volume_size_gb, 1, MAX_VOLUME_GB)
        _check_int(found, "max_runtime_seconds", self.max_runtime_seconds, 1, MAX_RUNTIME_LIMIT_SECONDS)
        _check_int(found, "priority", self.priority, MIN_PRIORITY, MAX_PRIORITY)
        if self.max_queue_seconds is not None:
            _check_int(found, "max_queue_seconds", self.max_queue_seconds, 0, MAX_QUEUE_SECONDS)
        self._spot_problems(bad)
        self._security_problems(bad)
        self._hyperparameter_problems(bad)
        self._metric_problems(bad)
        self._environment_problems(bad)
        self._channel_problems(bad)
        if not isinstance(self.tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()
        ):
            bad("tags", "must be an object of string keys to string values")
        elif len(self.tags) > MAX_TAGS:
            bad("tags", f"at most {MAX_TAGS} tags")
        if self.entry_point is not None and (
            not isinstance(self.entry_point, str)
            or not self.entry_point
            or self.entry_point.startswith("/")
            or ".." in self.entry_point.split("/")
        ):
            bad("entry_point", "must be a relative path inside the training code, without '..'")
        return found

    def _spot_problems(self, bad: Any) -> None:
        if not isinstance(self.use_spot_instances, bool):
            bad("use_spot_instances", "must be true or false")
            return
        if self.use_spot_instances:
            if self.max_wait_seconds is None:
                bad(
                    "max_wait_seconds", "is required with spot instances (and must be >= max_runtime_seconds)"
                )
            elif not isinstance(self.max_wait_seconds, int) or isinstance(self.max_wait_seconds, bool):
                bad("max_wait_seconds", "must be an integer number of seconds")
            elif (
                isinstance(self.max_runtime_seconds, int) and self.max_wait_seconds < self.max_runtime_seconds
            ):
                bad("max_wait_seconds", "must be greater than or equal to max_runtime_seconds")
        elif self.max_wait_seconds is not None:
            bad("max_wait_seconds", "applies only with use_spot_instances: true")
        if self.checkpoint_s3_uri:
            reason = s3_uri_problem(self.checkpoint_s3_uri)
            if reason:
                bad("checkpoint_s3_uri", reason)

    def _security_problems(self, bad: Any) -> None:
        found: list[Problem] = []
        if self.keep_alive_seconds is not None:
            _check_int(found, "keep_alive_seconds", self.keep_alive_seconds, 0, MAX_KEEP_ALIVE_SECONDS)
        if self.max_retry_attempts is not None:
            _check_int(found, "max_retry_attempts", self.max_retry_attempts, 1, MAX_RETRY_ATTEMPTS)
        for problem in found:
            bad(problem.field, problem.message)
        subnets, groups = self.vpc_subnets, self.vpc_security_group_ids
        if (subnets is None) != (groups is None):
            bad("vpc_subnets" if subnets is None else "vpc_security_group_ids",
                "is required with the other: a job runs in a VPC given both its subnets and security groups")  # fmt: skip
        for name, ids, most, prefix in (
            ("vpc_subnets", subnets, MAX_SUBNETS, "subnet-"),
            ("vpc_security_group_ids", groups, MAX_SECURITY_GROUPS, "sg-"),
        ):
            if ids is None:
                continue
            if not isinstance(ids, list) or not 1 <= len(ids) <= most:
                bad(name, f"must be a list of 1 to {most} ids")
            elif not all(
                isinstance(i, str) and VPC_ID_PATTERN.fullmatch(i) and i.startswith(prefix) for i in ids
            ):
                bad(name, f"each must be an id such as {prefix}0123456789abcdef0")
        for name in ("volume_kms_key_id", "output_kms_key_id"):
            key = getattr(self, name)
            if key is not None and (not isinstance(key, str) or not KMS_KEY_PATTERN.fullmatch(key)):
                bad(name, "must be a KMS key id, alias or ARN (letters, digits and :/_-)")
        for name in ("enable_network_isolation", "enable_inter_container_traffic_encryption"):
            if not isinstance(getattr(self, name), bool):
                bad(name, "must be true or false")
        for problem in distribution_problems(self.distribution):
            bad(problem.field, problem.message)

    def _hyperparameter_problems(self, bad: Any) -> None:
        if not isinstance(self.hyperparameters, dict):
            bad("hyperparameters", "must be an object of name to value")
            return
        if len(self.hyperparameters) > MAX_HYPERPARAMETERS:
            bad("hyperparameters", f"at most {MAX_HYPERPARAMETERS} entries, got {len(self.hyperparameters)}")
        for key, value in self.hyperparameters.items():
            where = f"hyperparameters.{printable(str(key))}"
            if not isinstance(key, str) or not key or len(key) > MAX_HYPERPARAMETER_KEY:
                bad(where, f"names must be 1-{MAX_HYPERPARAMETER_KEY} characters")
            if not isinstance(value, str):
                bad(where, "values must be strings (numbers are converted when parsed)")
            elif len(value) > MAX_HYPERPARAMETER_VALUE:
                bad(where, f"values must be at most {MAX_HYPERPARAMETER_VALUE} characters")

    def _metric_problems(self, bad: Any) -> None:
        if not isinstance(self.metric_definitions, list):
            bad("metric_definitions", "must be a list of {Name, Regex}")
            return
        if len(self.metric_definitions) > MAX_METRIC_DEFINITIONS:
            bad("metric_definitions", f"at most {MAX_METRIC_DEFINITIONS} definitions")
        names: set[str] = set()
        for index, definition in enumerate(self.metric_definitions):
            where = f"metric_definitions[{index}]"
            if not isinstance(definition, dict):
                bad(where, "must be an object with Name and Regex")
                continue
            name, regex = definition.get("Name"), definition.get("Regex")
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                bad(f"{where}.Name", "must be 1-255 characters")
            elif name in names:
                bad(f"{where}.Name", f"duplicate metric name {name!r}")
            else:
                names.add(name)
            if not isinstance(regex, str) or not 1 <= len(regex) <= 500:
                bad(f"{where}.Regex", "must be 1-500 characters")
                continue
            try:
                compiled = re.compile(regex)
            except re.error as exc:
                bad(f"{where}.Regex", f"is not a valid regular expression: {exc}")
                continue
            if compiled.groups < 1:
                bad(f"{where}.Regex", "must capture the metric value in a group, e.g. loss=([0-9.]+)")

    def _environment_problems(self, bad: Any) -> None:
        if not isinstance(self.environment_variables, dict):
            bad("environment_variables", "must be an object of name to value")
            return
        if len(self.environment_variables) > MAX_ENVIRONMENT_VARIABLES:
            bad("environment_variables", f"at most {MAX_ENVIRONMENT_VARIABLES} entries")
        for key, value in self.environment_variables.items():
            where = f"environment_variables.{printable(str(key))}"
            if not isinstance(key, str) or not ENV_KEY_PATTERN.fullmatch(key) or len(key) > 512:
                bad(where, "names must match [a-zA-Z_][a-zA-Z0-9_]*")
            if not isinstance(value, str) or len(value) > MAX_ENVIRONMENT_VALUE:
                bad(where, f"values must be strings of at most {MAX_ENVIRONMENT_VALUE} chars")

    def _channel_problems(self, bad: Any) -> None:
        if not isinstance(self.channels, list):
            bad(
                "channels",
                "must be a list of {name, s3_uri?, input_mode?, content_type?, compression?, distribution?}",
            )
            return
        if len(self.channels) > MAX_CHANNELS:
            bad("channels", f"at most {MAX_CHANNELS} channels")
        names: set[str] = set()
        known = {"name", "s3_uri", "content_type", *CHANNEL_OPTIONS}
        for index, channel in enumerate(self.channels):
            where = f"channels[{index}]"
            if not isinstance(channel, dict):
                bad(where, "must be an object with at least a name")
                continue
            for key in channel:
                if key not in known:
                    bad(
                        f"{where}.{printable(str(key))}",
                        f"is not a channel option (one of {', '.join(sorted(known))})",
                    )
            name = channel.get("name")
            if not isinstance(name, str) or not CHANNEL_NAME_PATTERN.fullmatch(name):
                bad(
                    f"{where}.name",
                    "must be 1-64 letters, digits, '.', '-' or '_' (SageMaker's channel names)",
                )
            elif name in names:
                bad(f"{where}.name", f"channel {name!r} is named twice")
            else:
                names.add(name)
            if channel.get("s3_uri") is not None:
                reason = s3_uri_problem(channel["s3_uri"])
                if reason:
                    bad(f"{where}.s3_uri", reason)
            content_type = channel.get("content_type")
            if content_type is not None and (
                not isinstance(content_type, str) or not 1 <= len(content_type) <= 256
            ):
                bad(f"{where}.content_type", "must be a MIME type of at most 256 characters")
            for option, allowed in CHANNEL_OPTIONS.items():
                if channel.get(option) is not None and channel[option] not in allowed:
                    bad(f"{where}.{option}", f"must be one of {', '.join(allowed)}")

    def validate(self) -> None:
        """Raise :class:`SageMakerConfigurationError` listing every problem, each naming its field."""
        found = self.problems()
        if found:
            raise InvalidJobConfigurationError.from_problems(found, "training configuration")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["environment"] = self.environment.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Build from user JSON: unknown fields and wrong types are reported by name, numbers become strings
        in hyperparameters (as SageMaker wants), and the result is validated."""
        if not isinstance(data, Mapping):
            raise InvalidJobConfigurationError(
                "the training configuration must be a JSON object", field="body"
            )
        known = {f for f in cls.__dataclass_fields__}
        found = [Problem(printable(str(k)), "is not a known field") for k in data if k not in known]
        if "job_name" not in data:
            found.append(Problem("job_name", "is required"))
        values = {k: v for k, v in data.items() if k in known}
        optional = ("keep_alive_seconds", "max_retry_attempts", "max_queue_seconds")
        for name in ("instance_count", "volume_size_gb", "max_runtime_seconds", "priority", *optional):
            if name in values and (not isinstance(values[name], int) or isinstance(values[name], bool)):
                if values[name] is None and name in optional:
                    continue
                found.append(Problem(name, "must be an integer"))
        hyper = values.get("hyperparameters")
        if isinstance(hyper, dict):
            found.extend(
                Problem(f"hyperparameters.{printable(str(k))}", "must be a finite number")
                for k, v in hyper.items()
                if isinstance(v, float) and not math.isfinite(v)
            )
            values["hyperparameters"] = {k: _hyperparameter_string(v) for k, v in hyper.items()}
        env = values.get("environment")
        if env is not None:
            try:
                values["environment"] = TrainingEnvironment(env)
            except ValueError:
                found.append(Problem("environment", "must be 'sagemaker' or 'local'"))
        if found:
            raise InvalidJobConfigurationError.from_problems(found, "training configuration")
        config = cls(**values)
        config.validate()
        return config


def config_from_dataset_settings(
    training: Mapping[str, Any] | None, *, job_name: str, default_instance_type: str
) -> tuple[TrainingConfig, str | None]:
    """A dataset's ``training`` settings (its ``trainforge.json``) as the job its arrival starts, and the image
    they name, if any. The job's name is Trainforge's (``job_name``): settings that name one are refused."""
    if training is not None and not isinstance(training, Mapping):
        raise SageMakerConfigurationError("training settings must be a JSON object", field="training")
    values = dict(training or {})
    image_uri = values.pop("image_uri", None)
    if "job_name" in values:
        raise SageMakerConfigurationError(
            "a dataset's job is named for what it holds (ds-<folder>-<digest>), so uploading the same data again "
            "never trains twice: leave job_name out of trainforge.json, or submit the job yourself "
            "(trainforge submit --job-name NAME --dataset DATASET)",
            field="job_name",
        )
    if image_uri is not None and not isinstance(image_uri, str):
        raise SageMakerConfigurationError("must be a container image URI", field="image_uri")
    config = TrainingConfig.from_dict(
        {"instance_type": default_instance_type, **values, "job_name": job_name}
    )
    return config, image_uri or None


def _hyperparameter_string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _check_int(found: list[Problem], name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        found.append(Problem(name, "must be an integer"))
    elif not low <= value <= high:
        found.append(Problem(name, f"must be between {low} and {high}, got {value}"))
