"""Job and build statuses, and the ranks that make state changes order-safe."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """SageMaker's words for a training job, plus Trainforge's own before submission."""

    PENDING = "Pending"  # recorded, not yet accepted by SageMaker
    WAITING_FOR_CAPACITY = "WaitingForCapacity"  # no instances free in its pool: queued, SageMaker not called
    REJECTED = "Rejected"  # refused before or at submission; never ran
    IN_PROGRESS = "InProgress"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"


TERMINAL_RANK = 3

# A change applies only if it ranks higher, or ranks the same (below terminal) and is newer.
JOB_STATUS_RANK: dict[str, int] = {
    JobStatus.PENDING: 0,
    # Waiting and Pending are both "before SageMaker": Trainforge moves a job between them only by guarded
    # statements that name the status they expect, never through an event.
    JobStatus.WAITING_FOR_CAPACITY: 0,
    JobStatus.IN_PROGRESS: 1,
    JobStatus.STOPPING: 2,
    JobStatus.COMPLETED: TERMINAL_RANK,
    JobStatus.FAILED: TERMINAL_RANK,
    JobStatus.STOPPED: TERMINAL_RANK,
    JobStatus.REJECTED: TERMINAL_RANK,
}

BEFORE_SAGEMAKER = frozenset({JobStatus.PENDING, JobStatus.WAITING_FOR_CAPACITY})
TERMINAL_JOB_STATUSES = frozenset(s for s, rank in JOB_STATUS_RANK.items() if rank == TERMINAL_RANK)
SAGEMAKER_JOB_STATUSES = frozenset(
    {JobStatus.IN_PROGRESS, JobStatus.STOPPING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED}
)


class BuildStatus(StrEnum):
    """CodeBuild's build statuses, plus QUEUED for a build Trainforge started but heard nothing of yet."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    FAULT = "FAULT"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


BUILD_STATUS_RANK: dict[str, int] = {
    BuildStatus.QUEUED: 0,
    BuildStatus.IN_PROGRESS: 1,
    BuildStatus.SUCCEEDED: TERMINAL_RANK,
    BuildStatus.FAILED: TERMINAL_RANK,
    BuildStatus.FAULT: TERMINAL_RANK,
    BuildStatus.TIMED_OUT: TERMINAL_RANK,
    BuildStatus.STOPPED: TERMINAL_RANK,
}


# A tuning job: SageMaker's statuses (Deleting/DeleteFailed are never kept), plus Pending and Rejected before it.
TUNING_STATUS_RANK: dict[str, int] = {
    JobStatus.PENDING: 0,
    JobStatus.IN_PROGRESS: 1,
    JobStatus.STOPPING: 2,
    JobStatus.COMPLETED: TERMINAL_RANK,
    JobStatus.FAILED: TERMINAL_RANK,
    JobStatus.STOPPED: TERMINAL_RANK,
    JobStatus.REJECTED: TERMINAL_RANK,
}
