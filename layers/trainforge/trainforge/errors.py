"""Trainforge's error hierarchy, rooted at the contract's ``SageMakerError``.

Every error says what was wrong and how to fix it; ``field`` names the offending input where there is one, so
the API can answer a 4xx that points at it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: the field and the rule it broke."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SageMakerError(Exception):
    """Base exception for SageMaker training errors."""

    code = "sagemaker_error"

    def __init__(self, message: str, *, field: str | None = None, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or ([Problem(field, message)] if field else [])
        self.field = field or (self.problems[0].field if self.problems else None)


class SageMakerConfigurationError(SageMakerError):
    """Raised when SageMaker configuration is invalid."""

    code = "invalid_configuration"

    @classmethod
    def from_problems(
        cls, problems: list[Problem], subject: str = "configuration"
    ) -> SageMakerConfigurationError:
        listing = "; ".join(str(p) for p in problems)
        return cls(f"invalid {subject}: {listing}", problems=problems)


class SageMakerJobError(SageMakerError):
    """Raised when SageMaker job operations fail."""

    code = "job_error"


class DockerContainerError(SageMakerError):
    """Raised when Docker container operations fail."""

    code = "container_error"


class JobNotFoundError(SageMakerJobError):
    """No training job with that id or name."""

    code = "not_found"


class BuildNotFoundError(DockerContainerError):
    """No container build with that id."""

    code = "not_found"


class DatasetNotFoundError(SageMakerConfigurationError):
    """Nothing was uploaded under that dataset name."""

    code = "not_found"


class DatasetValidationError(SageMakerConfigurationError):
    """A dataset folder or its metadata file breaks a rule; ``problems`` lists every one."""

    code = "invalid_dataset"


class RetryableSubmissionError(SageMakerJobError):
    """SageMaker was busy (throttled) past the caller's deadline: the submission is kept and must be retried."""

    code = "submission_throttled"


class JobConflictError(SageMakerJobError):
    """The job name or idempotency key is already taken by a different request: ``problems`` says what differs."""

    code = "conflict"


class RoleConflictError(SageMakerConfigurationError):
    """A role of that name exists and Trainforge does not own it, so it is left untouched."""

    code = "conflict"


class AwsRefusalError(SageMakerConfigurationError):
    """An AWS service refused Trainforge itself (its permissions, a service limit): not the caller's input."""

    code = "aws_refused"


class InvalidJobConfigurationError(SageMakerConfigurationError, SageMakerJobError):
    """A training job SageMaker would refuse. Both a configuration error (what ``validate`` raises) and a job
    error (what the contract's ``submit_training_job`` promises), so either ``except`` catches it."""

    code = "invalid_configuration"


class DatasetIncompleteError(RetryableSubmissionError):
    """Files the dataset's manifest names are not in S3 yet (or not as described): the submission waits."""

    code = "dataset_incomplete"


class AccessDeniedError(SageMakerError):
    """The caller may not use Trainforge at all (no team, not an administrator), or may not manage teams."""

    code = "forbidden"


class BudgetExceededError(SageMakerConfigurationError):
    """The job's projected ceiling does not fit in what is left of its team's monthly budget."""

    code = "budget_exceeded"


class TeamLimitError(SageMakerConfigurationError):
    """The job breaks one of its team's limits (instance types, maximum runtime)."""

    code = "team_limit"


class TeamNotFoundError(SageMakerConfigurationError):
    code = "not_found"


class TeamBusyError(SageMakerConfigurationError):
    """A team whose jobs still run cannot be deleted."""

    code = "conflict"
