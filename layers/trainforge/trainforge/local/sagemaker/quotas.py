"""An account's per-instance-type quotas, as local SageMaker enforces them (``TRAINFORGE_LOCAL_INSTANCE_QUOTAS``):
a create beyond one is refused with ``ResourceLimitExceeded`` in SageMaker's own words."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trainforge.local.sagemaker.job import TERMINAL, LocalJob, sagemaker_error


def _count(request: dict[str, Any]) -> int:
    return int(request.get("ResourceConfig", {}).get("InstanceCount", 1))


def _running(jobs: Iterable[LocalJob], instance_type: str, spot: bool | None = None) -> list[LocalJob]:
    return [
        job
        for job in jobs
        if job.status not in TERMINAL
        and job.request.get("ResourceConfig", {}).get("InstanceType") == instance_type
        and (spot is None or bool(job.request.get("EnableManagedSpotTraining")) == spot)
    ]


def instances_in_use(jobs: Iterable[LocalJob], instance_type: str) -> int:
    return sum(_count(job.request) for job in _running(jobs, instance_type))


def check_quota(
    quotas: tuple[tuple[str, int], ...], jobs: Iterable[LocalJob], request: dict[str, Any]
) -> None:
    """Raise SageMaker's ``ResourceLimitExceeded`` when the jobs still running and this one exceed the quota of
    its pool (its instance type, or ``<type>/spot`` for spot capacity)."""
    instance_type = str(request.get("ResourceConfig", {}).get("InstanceType", ""))
    spot = bool(request.get("EnableManagedSpotTraining"))
    quota = dict(quotas).get(f"{instance_type}/spot" if spot else instance_type)
    if quota is None:
        return
    wanted = _count(request)
    used = sum(_count(job.request) for job in _running(jobs, instance_type, spot))
    if used + wanted > quota:
        usage = "spot training job usage" if spot else "training job usage"
        raise sagemaker_error(
            "ResourceLimitExceeded",
            f"The account-level service limit '{instance_type} for {usage}' is {quota} Instances, with current "
            f"utilization of {used} Instances and a request delta of {wanted} Instances. Please use AWS Service "
            "Quotas to request an increase for this quota. If AWS Service Quotas is not available, contact AWS "
            "support to request an increase for this quota.",
            "CreateTrainingJob",
        )
