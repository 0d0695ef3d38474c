"""The API's shapes for capacity and cost: a job's price and place in the queue, its warm pool, and what a dry
run found."""

from __future__ import annotations

from pydantic import Field

from trainforge.models.api.base import FieldProblem, Model


class Price(Model):
    usd_per_hour: float
    source: str = Field(description="AWS Price List (with the date read) or the bundled table (labelled)")


class Queue(Model):
    pool: str = Field(description="the instance type, with /spot for spot capacity")
    position: int | None = Field(description="1 for the next job its pool admits; null when not waiting")
    waiting_since: str | None
    deadline: str | None = Field(description="when it ends Failed if still waiting (max_queue_seconds)")


class WarmPool(Model):
    status: str | None = Field(description="SageMaker's: Available, InUse, Reused or Terminated")
    retained_billable_seconds: int | None = Field(description="billed while kept")
    reused_by_job: str | None = Field(description="the job that started on these instances")


class PoolCounts(Model):
    """A pool's quota and what holds and waits for it, as a dry run and the queue show it."""

    pool: str = Field(description="the instance type, with /spot for spot capacity")
    quota: int | None = Field(description="the account's quota for the pool; null until it has been read")
    quota_source: str | None = Field(description="service-quotas, or sagemaker (learned from a refusal)")
    quota_read_at: str | None
    in_use: int = Field(description="instances Trainforge's admitted jobs hold")
    limit: int | None = Field(description="what Trainforge may hold now (the quota, lower after a refusal)")
    waiting: int = Field(description="jobs waiting for this pool, every team's")


class Capacity(PoolCounts):
    would_wait: bool = Field(description="whether this job would wait for capacity if submitted now")


class WaitingJob(Model):
    id: int
    job_name: str
    team: str | None
    priority: int
    position: int = Field(description="1 for the next job its pool admits")
    waiting_since: str | None


class Pool(PoolCounts):
    instance_type: str
    spot: bool
    jobs: list[WaitingJob] = Field(description="the waiting jobs the caller may see, first in line first")


class PoolList(Model):
    pools: list[Pool]


class ImageCheck(Model):
    image_uri: str
    exists: bool | None = Field(description="null when it could not be checked (not in ECR, or no access)")
    detail: str


class DryRun(Model):
    valid: bool = Field(description="always true: an invalid request is answered 422 naming every problem")
    accepted: bool = Field(
        description="whether a submission would be accepted and could run: false when its name is taken or its "
        "image is missing (problems says which)"
    )
    problems: list[FieldProblem] = Field(default_factory=list, description="why it would not be accepted")
    job_name: str
    instance_type: str
    instance_count: int
    cost_ceiling_usd: float | None
    price: Price | None
    capacity: Capacity
    image: ImageCheck
    channels: list[str] = Field(description="the input channels the job would get")
