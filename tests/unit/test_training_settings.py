"""A job's settings are declared once (trainforge.models.training_settings): TrainingConfig, the contract's
SageMakerJobConfig, the stored form and the API's JobRequest all derive from that declaration, so a setting added
there reaches every one of them, and none can state a different limit."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from trainforge.job_settings.sagemaker_job import SageMakerJobConfig
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.models import api
from trainforge.models.api.jobs import request_fields
from trainforge.models.training_settings import SageMakerSettings, TrainingSettings, setting

SAGEMAKER = [f.name for f in dataclasses.fields(SageMakerSettings)]
REQUEST_ONLY = {"team", "dataset_uri", "output_uri", "image_uri", "reuse_warm_pool_of"}


def test_training_config_and_the_contracts_job_config_take_sagemakers_settings_from_the_declaration() -> None:
    declared = {f.name: f for f in dataclasses.fields(SageMakerSettings)}
    for owner in (TrainingConfig, SageMakerJobConfig):
        hints = typing.get_type_hints(owner)
        owned = {f.name: f for f in dataclasses.fields(owner)}
        for name, field in declared.items():
            assert owned[name].default == field.default and owned[name].metadata == field.metadata
            assert hints[name] == typing.get_type_hints(SageMakerSettings)[name]


def test_the_api_request_is_every_setting_of_a_job_plus_the_requests_own() -> None:
    properties = set(api.JobRequest.model_json_schema()["properties"])
    assert properties == {f.name for f in dataclasses.fields(TrainingSettings)} | REQUEST_ONLY


def test_the_api_states_the_limits_the_declaration_gives() -> None:
    schema = api.JobRequest.model_json_schema()["properties"]
    for field in dataclasses.fields(TrainingSettings):
        if field.name in REQUEST_ONLY:
            continue
        limits = field.metadata["api"]
        stated = next(
            (s for s in schema[field.name].get("anyOf", [schema[field.name]]) if s.get("type") != "null"), {}
        )
        length = "maxItems" if stated.get("type") == "array" else "maxLength"
        for key, json_key in (
            ("ge", "minimum"),
            ("le", "maximum"),
            ("max_length", length),
            ("pattern", "pattern"),
        ):
            if key in limits:
                assert stated[json_key] == limits[key], (field.name, key)
        if "description" in limits:
            assert schema[field.name]["description"] == limits["description"]


def test_a_setting_added_to_the_declaration_reaches_the_api_and_the_contract() -> None:
    @dataclasses.dataclass(kw_only=True)
    class WithProfiler(SageMakerSettings):
        profiler_rule: str | None = setting(None, max_length=64, description="a new SageMaker setting")

    fields = request_fields(WithProfiler)
    _kind, declared = fields["profiler_rule"]
    assert declared.description == "a new SageMaker setting" and declared.default is None
    assert set(fields) == {*SAGEMAKER, "profiler_rule"}


def test_the_contracts_job_config_carries_every_setting_of_the_users_config() -> None:
    changed: dict[str, Any] = {
        "instance_type": "ml.g5.xlarge", "instance_count": 2, "volume_size_gb": 99, "max_runtime_seconds": 7200,
        "use_spot_instances": True, "max_wait_seconds": 9000, "checkpoint_s3_uri": "s3://trainforge-artifacts/output/x/",
        "hyperparameters": {"epochs": "3"}, "metric_definitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}],
        "environment_variables": {"A": "1"}, "tags": {"team": "vision"}, "keep_alive_seconds": 600,
        "max_retry_attempts": 2, "vpc_subnets": ["subnet-1"], "vpc_security_group_ids": ["sg-1"],
        "volume_kms_key_id": "alias/v", "output_kms_key_id": "alias/o", "enable_network_isolation": True,
        "enable_inter_container_traffic_encryption": True,
    }  # fmt: skip
    assert set(changed) == set(SAGEMAKER)  # every setting is exercised
    config = TrainingConfig(job_name="every-setting", **changed)
    job = SageMakerJobConfig.from_training_config(
        config, input_data_s3_uri="s3://trainforge-datasets/datasets/x/", output_s3_uri="s3://trainforge-artifacts/output/",
        role_arn="arn:aws:iam::123456789012:role/r", image_uri="image",
    )  # fmt: skip
    assert {name: getattr(job, name) for name in SAGEMAKER} == changed
    assert config.to_dict()["max_retry_attempts"] == 2  # the stored form is the declaration's fields
