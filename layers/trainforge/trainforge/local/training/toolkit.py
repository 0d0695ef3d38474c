"""The SageMaker training toolkit's contract, as local jobs see it.

Mirrors ``sagemaker_training`` (``environment.py`` and ``mapping.py`` of sagemaker-training 5.1 on PyPI, the
library inside AWS's framework containers): hyperparameters JSON-decoded, ``sagemaker_*`` ones set apart, the
script's arguments built by ``to_cmd_args`` (sorted, ``--name value``), and every ``SM_*`` variable built by
``to_env_vars`` (strings as they are, anything else as compact JSON), ``SM_TRAINING_ENV`` holding the whole
environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SAGEMAKER_PREFIX = "sagemaker_"
# The toolkit's own hyperparameters (params.SAGEMAKER_HYPERPARAMETERS): not framework parameters.
SAGEMAKER_HYPERPARAMETERS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "sagemaker_region",
        "sagemaker_s3_output",
        "_tuning_objective_metric",
        "default_user_module_name",
    }
)
GROUP = "homogeneousCluster"
HOST = "algo-1"
LOG_LEVEL_INFO = 20


def decode_hyperparameters(raw: dict[str, Any]) -> dict[str, Any]:
    """``read_hyperparameters``: each value JSON-decoded when it is JSON ("10" is 10, '"a"' is "a")."""
    decoded = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (ValueError, TypeError):
            decoded[key] = value
    return decoded


def to_cmd_args(mapping: dict[str, Any]) -> list[str]:
    """``mapping.to_cmd_args``: sorted keys, ``--name`` (``-n`` for one letter), values as ``str()`` gives them
    (so ``true`` arrives as ``True``), an object as ``k=v,k2=v2``."""
    args = []
    for key in sorted(mapping):
        value = mapping[key]
        args.append(f"--{key}" if len(str(key)) > 1 else f"-{key}")
        if hasattr(value, "items"):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def to_env_vars(mapping: dict[str, Any]) -> dict[str, str]:
    """``mapping.to_env_vars``: ``SM_`` + the upper-cased key; strings as they are, None as "", the rest JSON."""

    def value_of(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    return {f"SM_{str(key).upper()}": value_of(value) for key, value in mapping.items() if key}


def resource_config(
    instance_type: str, current_host: str = HOST, hosts: list[str] | None = None
) -> dict[str, Any]:
    """``/opt/ml/input/config/resourceconfig.json`` for one of the job's hosts, as SageMaker writes it."""
    every = hosts or [HOST]
    return {
        "current_host": current_host,
        "current_instance_type": instance_type,
        "current_group_name": GROUP,
        "hosts": every,
        "instance_groups": [{"instance_group_name": GROUP, "instance_type": instance_type, "hosts": every}],
        "network_interface_name": "eth0",
    }


def input_data_config(channels: list[dict[str, Any]], default_mode: str = "File") -> dict[str, Any]:
    """``/opt/ml/input/config/inputdataconfig.json``: each channel's options, keyed by its name."""
    config = {}
    for channel in channels:
        entry = {
            "TrainingInputMode": channel.get("InputMode") or default_mode,
            "S3DistributionType": channel["DataSource"]["S3DataSource"].get(
                "S3DataDistributionType", "FullyReplicated"
            ),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        if channel.get("CompressionType"):
            entry["CompressionType"] = channel["CompressionType"]
        config[channel["ChannelName"]] = entry
    return config


def training_environment(
    *,
    job_name: str,
    hyperparameters: dict[str, Any],
    input_config: dict[str, Any],
    resources: dict[str, Any],
    base: Path,
    program: str,
    module_dir: str,
) -> tuple[dict[str, str], list[str]]:
    """The variables and command-line arguments a training script receives, given the job's
    ``hyperparameters.json`` contents (``hyperparameters``), its input and resource configs, and ``base`` (the
    local stand-in for ``/opt/ml``)."""
    decoded = decode_hyperparameters(hyperparameters)
    toolkits = {k for k in decoded if k in SAGEMAKER_HYPERPARAMETERS or k.startswith(SAGEMAKER_PREFIX)}
    user = {k: v for k, v in decoded.items() if k not in toolkits}
    framework = {k: v for k, v in decoded.items() if k in toolkits and k not in SAGEMAKER_HYPERPARAMETERS}
    channel_dirs = {name: str(base / "input" / "data" / name) for name in input_config}
    hosts = list(resources["hosts"])
    properties: dict[str, Any] = {
        "additional_framework_parameters": framework,
        "channel_input_dirs": channel_dirs,
        "current_host": resources["current_host"],
        "current_instance_group": resources.get("current_group_name", GROUP),
        "current_instance_group_hosts": hosts,
        "current_instance_type": resources.get("current_instance_type", "local"),
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": None,
        "hosts": hosts,
        "hyperparameters": user,
        "input_config_dir": str(base / "input" / "config"),
        "input_data_config": input_config,
        "input_dir": str(base / "input"),
        "instance_groups": [g["instance_group_name"] for g in resources.get("instance_groups", [])],
        "instance_groups_dict": {g["instance_group_name"]: g for g in resources.get("instance_groups", [])},
        "is_hetero": len(resources.get("instance_groups", [])) > 1,
        "is_master": resources["current_host"] == hosts[0],
        "is_modelparallel_enabled": False,
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": job_name,
        "log_level": LOG_LEVEL_INFO,
        "master_hostname": hosts[0],
        "model_dir": str(base / "model"),
        "module_dir": module_dir,
        "module_name": program[:-3] if program.endswith(".py") else program,
        "network_interface_name": resources.get("network_interface_name", "eth0"),
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(base / "output" / "data"),
        "output_dir": str(base / "output"),
        "output_intermediate_dir": str(base / "output" / "intermediate"),
        "resource_config": resources,
        "topology": [],
        "user_entry_point": program,
    }
    args = to_cmd_args(user)
    variables: dict[str, Any] = {
        "hosts": hosts,
        "network_interface_name": properties["network_interface_name"],
        "hps": user,
        "user_entry_point": program,
        "framework_params": framework,
        "resource_config": resources,
        "input_data_config": input_config,
        "output_data_dir": properties["output_data_dir"],
        "channels": sorted(channel_dirs),
        "current_host": properties["current_host"],
        "current_instance_type": properties["current_instance_type"],
        "current_instance_group": properties["current_instance_group"],
        "current_instance_group_hosts": hosts,
        "instance_groups": properties["instance_groups"],
        "instance_groups_dict": properties["instance_groups_dict"],
        "distribution_instance_groups": [],
        "is_hetero": properties["is_hetero"],
        "module_name": properties["module_name"],
        "log_level": LOG_LEVEL_INFO,
        "framework_module": None,
        "input_dir": properties["input_dir"],
        "input_config_dir": properties["input_config_dir"],
        "output_dir": properties["output_dir"],
        "num_cpus": properties["num_cpus"],
        "num_gpus": 0,
        "num_neurons": 0,
        "model_dir": properties["model_dir"],
        "module_dir": module_dir,
        "training_env": properties,
        "user_args": args,
        "output_intermediate_dir": properties["output_intermediate_dir"],
    }
    variables.update({f"channel_{name}": path for name, path in channel_dirs.items()})
    variables.update({f"hp_{key}": value for key, value in user.items()})
    return to_env_vars(variables), args
