"""Trainforge from Python: ``tf = trainforge.Client()``, then ``tf.jobs.submit(...)``, ``job.wait(logs=True)``,
``job.cancel()``, ``tf.jobs.list(...)``. Answers are the API's own models (``trainforge.models.api``, from which the
OpenAPI document is generated); errors are exceptions by kind, each listing the API's problems. Requests go through
the CLI's HTTP client (SigV4 from the default credentials chain; none against local mode), and a 503 is retried
after its Retry-After.

``trainforge.train(source_dir=..., data=..., ...)`` goes from a folder of code to a finished job in one call."""

from __future__ import annotations

from trainforge.client.errors import (
    BudgetExceeded,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TrainforgeError,
    Unavailable,
)
from trainforge.client.jobs import Client, Job, JobList
from trainforge.client.training import train

__all__ = [
    "BudgetExceeded",
    "Client",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "Job",
    "JobList",
    "NotFound",
    "TrainforgeError",
    "Unavailable",
    "train",
]
