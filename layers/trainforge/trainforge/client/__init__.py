"""Trainforge from Python: ``tf = trainforge.Client()``, then ``tf.jobs.submit(...)``, ``job.wait(logs=True)``,
``job.cancel()``, ``tf.jobs.list(...)``. Answers are the API's own models (``trainforge.models.api``, from which the
OpenAPI document is generated); errors are exceptions by kind, each listing the API's problems. Requests go through
the CLI's HTTP client (SigV4 from the default credentials chain; none against local mode), and a 503 is retried
after its Retry-After.

This is the client's first part (issue 28): jobs. Tuning jobs, builds, teams and ``trainforge.train`` come next."""

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
]
