"""The SageMaker calls a submission makes: paced creates with backoff, describe, quiet stops."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from trainforge.aws import error_code, error_message
from trainforge.capacity.admission import CapacityRefusal
from trainforge.capacity.pacing import Pacer
from trainforge.errors import RetryableSubmissionError, SageMakerJobError

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)


# SageMaker refused the job itself: retrying the same request cannot help.
REFUSAL_CODES = frozenset(
    {"ValidationException", "ResourceLimitExceeded", "AccessDeniedException", "AccessDenied"}
)


class InstanceCapacityError(SageMakerJobError):
    """SageMaker answered ResourceLimitExceeded for an instance quota: the job waits, it does not fail."""

    def __init__(self, refusal: CapacityRefusal) -> None:
        super().__init__(
            f"SageMaker refused the job: ResourceLimitExceeded: {refusal.message}", field="config"
        )
        self.refusal = refusal


def _is_transient_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, BotoConnectionError | HTTPClientError)


@dataclass(frozen=True)
class CreateCall:
    """A SageMaker create operation: its method, the request's name field, the answer's ARN field, and how to
    find the ARN of what exists under that name."""

    method: str
    name_key: str
    arn_key: str
    describe: str


CREATE_TRAINING_JOB = CreateCall(
    "create_training_job", "TrainingJobName", "TrainingJobArn", "describe_training_job"
)
CREATE_TUNING_JOB = CreateCall(
    "create_hyper_parameter_tuning_job",
    "HyperParameterTuningJobName",
    "HyperParameterTuningJobArn",
    "describe_hyper_parameter_tuning_job",
)


def create_with_backoff(
    sagemaker: Any,
    request: dict[str, Any],
    *,
    pacer: Pacer,
    timeout_seconds: float,
    sleep: Callable[[float], None],
    call: CreateCall = CREATE_TRAINING_JOB,
) -> str | None:
    """``CreateTrainingJob`` (or ``call``) at the pacer's rate; throttling retried with jittered backoff until
    the deadline (then :class:`RetryableSubmissionError`), SageMaker's refusals raised as
    :class:`SageMakerJobError`, and ``ResourceInUse`` (the same name again) answered with the existing ARN."""
    deadline = time.monotonic() + timeout_seconds
    delay = min(0.25, pacer.interval)  # a throttle usually means "a moment later", not "much later"
    while True:
        pacer.wait()
        try:
            return str(getattr(sagemaker, call.method)(**request)[call.arn_key])
        except Exception as exc:
            code = error_code(exc)
            if code == "ResourceInUse":
                return existing_arn(sagemaker, request[call.name_key], call)
            if code == "ResourceLimitExceeded":
                refusal = CapacityRefusal.parse(error_message(exc))
                if refusal is not None:
                    raise InstanceCapacityError(refusal) from exc
            if code in REFUSAL_CODES:
                raise SageMakerJobError(
                    f"SageMaker refused the job: {code}: {error_message(exc)}", field="config"
                ) from exc
            if not code and not _is_transient_transport_error(exc):
                raise
            wait = delay * (0.5 + random.random())  # noqa: S311 - jitter, not security
            if time.monotonic() + wait > deadline:
                raise RetryableSubmissionError(
                    f"SageMaker is busy ({code or type(exc).__name__}); the job stays Pending and is retried"
                ) from exc
            sleep(wait)
            delay = min(delay * 2, 8.0)


def existing_arn(sagemaker: Any, name: str, call: CreateCall = CREATE_TRAINING_JOB) -> str | None:
    try:
        return str(getattr(sagemaker, call.describe)(**{call.name_key: name})[call.arn_key])
    except Exception:
        return None


def describe_job(sagemaker: Any, job_name: str) -> dict[str, Any] | None:
    """``DescribeTrainingJob``, or None when SageMaker does not know the job."""
    try:
        return dict(sagemaker.describe_training_job(TrainingJobName=job_name))
    except Exception as exc:
        if error_code(exc) in ("ValidationException", "ResourceNotFound"):
            return None
        raise


def stop_quietly(sagemaker: Any, job_name: str) -> None:
    """Stop a job; one that has already ended is left as it is."""
    try:
        sagemaker.stop_training_job(TrainingJobName=job_name)
    except Exception as exc:
        if error_code(exc) != "ValidationException":  # already ended: nothing to stop
            raise
