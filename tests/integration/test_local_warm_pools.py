"""Warm pools in local mode: a completed job keeps its pool Available, the next matching job (with a keep-alive of
its own) takes it, the pool nobody takes is Terminated after its keep-alive; the emulator's events, delivered in
any order and more than once, leave each job's record with its pool's last state."""

from __future__ import annotations

import copy
import random
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.integration.test_local_runner import local, local_sagemaker, request, wait_until
from tests.lambda_support import invoke, sqs_batch
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.settings import Settings

__all__ = ["local"]  # the fixture, shared with the local runner's tests


def kept(
    name: str, seconds: int, *, environment: dict[str, str] | None = None, **resources: Any
) -> dict[str, Any]:
    job = request(name, **(environment or {}))
    job["ResourceConfig"].update({"KeepAlivePeriodInSeconds": seconds, **resources})
    return job


def pool_of(runner: LocalSageMaker, name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = runner.describe_training_job(TrainingJobName=name).get("WarmPoolStatus")
    return found


def wait_for_pool(runner: LocalSageMaker, name: str, status: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pool = pool_of(runner, name)
        if pool and pool["Status"] == status:
            return pool
        time.sleep(0.05)
    raise AssertionError(f"{name}'s pool never became {status}: {pool_of(runner, name)}")


def run_pool_scenario(runner: LocalSageMaker) -> None:
    """pool-a keeps its pool; pool-c (another instance type) cannot take it; pool-b can and does, then keeps its
    own for a second, which nobody takes."""
    runner.create_training_job(**kept("pool-a", 60))
    assert pool_of(runner, "pool-a") == {"Status": "InUse"}
    assert wait_until(runner, "pool-a", ("Completed", "Failed"))["TrainingJobStatus"] == "Completed"
    assert wait_for_pool(runner, "pool-a", "Available")["ResourceRetainedBillableTimeInSeconds"] == 0
    runner.create_training_job(**kept("pool-c", 60, InstanceType="ml.c5.xlarge"))
    runner.create_training_job(**kept("pool-b", 1))
    wait_until(runner, "pool-c", ("Completed", "Failed"))
    described = wait_until(runner, "pool-b", ("Completed", "Failed"))
    assert (
        described["SecondaryStatusTransitions"][0]["StatusMessage"] == "Starting on the warm pool of pool-a"
    )
    runner.wait()


def test_a_matching_job_takes_a_completed_jobs_pool_and_an_untaken_pool_ends(local: Any) -> None:
    runner, events = local
    run_pool_scenario(runner)
    reused = pool_of(runner, "pool-a")
    assert reused is not None and (reused["Status"], reused["ReusedByJob"]) == ("Reused", "pool-b")
    assert wait_for_pool(runner, "pool-c", "Available")  # another instance type: its own pool, not pool-a's
    terminated = wait_for_pool(runner, "pool-b", "Terminated")
    assert terminated["ResourceRetainedBillableTimeInSeconds"] >= 1 and "ReusedByJob" not in terminated
    runner.create_training_job(**request("no-pool"))
    assert "WarmPoolStatus" not in wait_until(runner, "no-pool", ("Completed", "Failed"))
    # The pool-owner's change is published as its own state change, later than its last.
    of_a = [e["detail"] for e in events if e["detail"]["TrainingJobName"] == "pool-a"]
    assert [d.get("WarmPoolStatus", {}).get("Status") for d in of_a][-2:] == ["Available", "Reused"]
    assert (
        of_a[-1]["TrainingJobStatus"] == "Completed" and of_a[-1]["WarmPoolStatus"]["ReusedByJob"] == "pool-b"
    )
    assert of_a[-1]["LastModifiedTime"] > of_a[-2]["LastModifiedTime"]


def test_a_failed_job_keeps_no_pool(local: Any) -> None:
    runner, _ = local
    runner.create_training_job(**kept("pool-failed", 60, environment={"FAIL": "1"}))
    assert wait_until(runner, "pool-failed", ("Completed", "Failed"))["TrainingJobStatus"] == "Failed"
    runner.wait()
    assert pool_of(runner, "pool-failed") == {
        "Status": "Terminated",
        "ResourceRetainedBillableTimeInSeconds": 0,
    }
    runner.create_training_job(**kept("after-failed", 60))
    first = wait_until(runner, "after-failed", ("Completed", "Failed"))["SecondaryStatusTransitions"][0]
    assert first["StatusMessage"] == "Preparing the instances for training"


def test_the_emulators_pool_events_in_any_order_leave_each_record_with_its_last_state(
    aws_resources: Settings, tmp_path: Path, handlers: Any, db: Session
) -> None:
    runner, events = local_sagemaker(aws_resources, tmp_path)
    run_pool_scenario(runner)
    wait_for_pool(runner, "pool-b", "Terminated")
    wait_for_pool(runner, "pool-c", "Available")
    # A pool's change is described first and published just after: wait for the events themselves.
    deadline = time.monotonic() + 30
    while not all(
        any(
            e["detail"]["TrainingJobName"] == job
            and e["detail"].get("WarmPoolStatus", {}).get("Status") == status
            for e in list(events)
        )
        for job, status in (("pool-b", "Terminated"), ("pool-c", "Available"))
    ):
        assert time.monotonic() < deadline, "the pools' last events were never published"
        time.sleep(0.05)
    shuffled = copy.deepcopy(events) + copy.deepcopy(events[::3])
    random.Random(7).shuffle(shuffled)
    training_state = handlers("training_state")
    for event in shuffled:
        assert invoke(training_state, sqs_batch(event)) == {"batchItemFailures": []}
    rows = dict(
        db.execute(text("SELECT job_name, warm_pool FROM training_jobs WHERE job_name LIKE 'pool-%'")).all()
    )
    assert rows["pool-a"]["status"] == "Reused" and rows["pool-a"]["reused_by_job"] == "pool-b"
    assert rows["pool-b"]["status"] == "Terminated" and rows["pool-b"]["retained_billable_seconds"] >= 1
    assert rows["pool-c"]["status"] == "Available"
