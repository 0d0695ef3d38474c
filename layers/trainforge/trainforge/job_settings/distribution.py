"""A job's distribution settings, as the SageMaker Python SDK's PyTorch estimator takes them
(``distribution={"torch_distributed": {"enabled": True}}`` or ``{"mpi": {...}}``) and passes them to SageMaker:
as the toolkit's hyperparameters, JSON-encoded as the SDK encodes every hyperparameter."""

from __future__ import annotations

import json
from typing import Any

from trainforge.errors import Problem

STRATEGIES = ("torch_distributed", "mpi")
MPI_OPTIONS = ("enabled", "processes_per_host", "custom_mpi_options")


def distribution_problems(distribution: Any) -> list[Problem]:
    if distribution is None:
        return []
    if not isinstance(distribution, dict) or not distribution:
        return [Problem("distribution", 'must be an object such as {"torch_distributed": {"enabled": true}}')]
    found = [Problem(f"distribution.{k}", f"must be one of {', '.join(STRATEGIES)}") for k in distribution
             if k not in STRATEGIES]  # fmt: skip
    for name, options in distribution.items():
        if name not in STRATEGIES:
            continue
        allowed = MPI_OPTIONS if name == "mpi" else ("enabled",)
        if not isinstance(options, dict) or not isinstance(options.get("enabled"), bool):
            found.append(Problem(f"distribution.{name}.enabled", "must be true or false"))
            continue
        found += [
            Problem(f"distribution.{name}.{k}", f"is not an option of {name}")
            for k in options
            if k not in allowed
        ]
        per_host = options.get("processes_per_host")
        if per_host is not None and (
            isinstance(per_host, bool) or not isinstance(per_host, int) or not 1 <= per_host <= 64
        ):
            found.append(
                Problem("distribution.mpi.processes_per_host", "must be a whole number from 1 to 64")
            )
        custom = options.get("custom_mpi_options")
        if custom is not None and (not isinstance(custom, str) or len(custom) > 1000):
            found.append(
                Problem("distribution.mpi.custom_mpi_options", "must be text of at most 1000 characters")
            )
    enabled = [k for k, v in distribution.items() if isinstance(v, dict) and v.get("enabled") is True]
    if len(enabled) > 1:
        found.append(Problem("distribution", f"enable one strategy, not {' and '.join(enabled)}"))
    return found


def distribution_hyperparameters(distribution: dict[str, Any] | None, instance_type: str) -> dict[str, str]:
    """What the SDK adds to the hyperparameters for these settings (its ``_json_encode_hyperparameters``)."""
    if not distribution:
        return {}
    torch = distribution.get("torch_distributed") or {}
    if torch.get("enabled"):
        return {
            "sagemaker_torch_distributed_enabled": json.dumps(True),
            "sagemaker_instance_type": json.dumps(instance_type),
        }
    mpi = distribution.get("mpi") or {}
    found = {"sagemaker_mpi_enabled": json.dumps(bool(mpi.get("enabled")))} if "mpi" in distribution else {}
    if mpi.get("enabled"):
        found["sagemaker_mpi_num_of_processes_per_host"] = json.dumps(int(mpi.get("processes_per_host", 1)))
        found["sagemaker_mpi_custom_mpi_options"] = json.dumps(str(mpi.get("custom_mpi_options", "")))
    return found
