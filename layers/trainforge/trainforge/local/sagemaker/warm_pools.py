"""Local warm pools, kept as SageMaker keeps them. A job with ``KeepAlivePeriodInSeconds`` has its pool ``InUse``
while it runs and keeps it ``Available`` when it completes; the next job that matches it (the settings SageMaker
matches on, and a keep-alive of its own) starts on it, the finished job's pool becoming ``Reused`` by it; a pool
nobody takes within its period is ``Terminated``. A finished job's pool changing is published as that job's state
change with a later ``LastModifiedTime``, as SageMaker reports it; the time a pool was kept is its
``ResourceRetainedBillableTimeInSeconds``."""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from trainforge.local.sagemaker.job import LocalJob

# What SageMaker matches a new job against a pool on: the role, the instances, their volume and network.
_RESOURCES = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")
_REQUEST = ("RoleArn", "VpcConfig", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption")


def keep_alive(request: dict[str, Any]) -> int:
    return int(request.get("ResourceConfig", {}).get("KeepAlivePeriodInSeconds") or 0)


def pool_key(request: dict[str, Any]) -> str:
    resources = request.get("ResourceConfig", {})
    matched = {
        **{name: resources.get(name) for name in _RESOURCES},
        **{name: request.get(name) for name in _REQUEST},
    }
    return json.dumps(matched, sort_keys=True, default=str)


class LocalWarmPools:
    """The warm pool part of the local SageMaker (its jobs, lock and publishing are the runner's)."""

    jobs: dict[str, LocalJob]
    _lock: threading.Lock
    _closed: bool  # local mode stopped: pools were let go with it

    def _publish(self, job: LocalJob) -> None:  # provided by LocalSageMaker
        raise NotImplementedError

    def _claim_warm_pool(self, job: LocalJob) -> LocalJob | None:
        """Start ``job`` on an Available pool it matches (under the runner's lock, before it runs): the pool's
        job, whose change the caller publishes once the lock is released."""
        if not keep_alive(job.request):
            return None
        job.warm_pool = {"Status": "InUse"}
        key = pool_key(job.request)
        found = next(
            (
                other for other in self.jobs.values()
                if (other.warm_pool or {}).get("Status") == "Available" and pool_key(other.request) == key
            ),
            None,
        )  # fmt: skip
        if found is not None:
            job.reused_pool_of = found.name
            self._change_pool(found, "Reused", reused_by=job.name)
        return found

    def _keep_warm_pool(self, job: LocalJob) -> None:
        """After ``job`` ended: keep its instances if it completed with a keep-alive, else let them go."""
        period = keep_alive(job.request)
        if not period:
            return
        with job.lock:
            if job.status != "Completed":
                job.warm_pool = {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 0}
                return
            job.warm_pool = {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0}
            job.pool_since = time.monotonic()
        timer = threading.Timer(period, self._expire_warm_pool, args=(job,))
        timer.daemon = True
        timer.start()

    def _expire_warm_pool(self, job: LocalJob) -> None:
        with self._lock:
            expired = not self._closed and (job.warm_pool or {}).get("Status") == "Available"
            if expired:
                self._change_pool(job, "Terminated")
        if expired:
            self._publish(job)

    def _change_pool(self, job: LocalJob, status: str, *, reused_by: str | None = None) -> None:
        kept = math.ceil(time.monotonic() - job.pool_since) if job.pool_since is not None else 0
        job.warm_pool = {"Status": status, "ResourceRetainedBillableTimeInSeconds": kept}
        if reused_by:
            job.warm_pool["ReusedByJob"] = reused_by
        job.touch()
