"""SageMaker training: the service contract Trainforge implements, and its face.

The contract's names live here (the exceptions, ``SageMakerJobConfig``, ``SageMakerContainerBuilder``,
``SageMakerTrainingService`` and the three Protocols); the work is done in rooms of one job each:
``account_checks``, ``execution_roles``, ``dataset_uploads``, ``job_config``, ``dataset_inputs`` (a job's exact
input), ``sagemaker_calls`` (paced creates with backoff), ``job_queries`` and ``image_builder``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from trainforge.account import execution_roles
from trainforge.account.checks import AccountChecks
from trainforge.aws import client as aws_client
from trainforge.builds.builder import SageMakerContainerBuilder, StartedBuild, build_failure_reason
from trainforge.capacity.pacing import Pacer
from trainforge.connection import Database
from trainforge.datasets.preparation import DatasetPreparationService
from trainforge.datasets.uploads import upload_dataset_folder
from trainforge.errors import (
    DockerContainerError,
    SageMakerConfigurationError,
    SageMakerError,
    SageMakerJobError,
)
from trainforge.inputs import IDEMPOTENCY_KEY_PATTERN
from trainforge.job_settings.sagemaker_job import (
    SageMakerJobConfig,
    request_problems,
)
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.jobs.cancellation import cancel_job
from trainforge.jobs.records import record_job
from trainforge.jobs.sagemaker_calls import describe_job
from trainforge.jobs.sending import Sender, send_pending_job
from trainforge.settings import Settings
from trainforge.tracking import queries as job_queries
from trainforge.tracking.queries import job_to_dict, report_to_dict
from trainforge.tracking.state_changes import answer_with, record_state_change, state_change_from_description

__all__ = [
    "IDEMPOTENCY_KEY_PATTERN",
    "DockerContainerError",
    "SageMakerConfigurationError",
    "SageMakerContainerBuilder",
    "SageMakerContainerBuilderInterface",
    "SageMakerError",
    "SageMakerJobConfig",
    "SageMakerJobConfigInterface",
    "SageMakerJobError",
    "SageMakerTrainingService",
    "SageMakerTrainingServiceInterface",
    "StartedBuild",
    "build_failure_reason",
    "job_to_dict",
    "report_to_dict",
    "request_problems",
]

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@runtime_checkable
class SageMakerJobConfigInterface(Protocol):
    def to_sagemaker_config(self) -> dict[str, Any]: ...


@runtime_checkable
class SageMakerContainerBuilderInterface(Protocol):
    def build_training_container(self, base_image: str, tag: str) -> str: ...

    def push_to_ecr(self, image_tag: str, ecr_repository_uri: str) -> str: ...


@runtime_checkable
class SageMakerTrainingServiceInterface(Protocol):
    def validate_configuration(self) -> dict[str, Any]: ...

    def create_execution_role(self, role_name: str) -> str: ...

    def upload_training_data(
        self, dataset_folder: str, metadata_file: str, s3_bucket: str, s3_prefix: str
    ) -> str: ...

    def submit_training_job(
        self,
        config: TrainingConfig,
        s3_input_uri: str,
        s3_output_uri: str,
        role_arn: str,
        image_uri: str,
        db: Session,
    ) -> int: ...

    def get_job_status(self, job_id: int, db: Session) -> dict[str, Any]: ...

    def cancel_training_job(self, job_id: int, db: Session) -> bool: ...

    def list_training_jobs(self, db: Session) -> list[dict[str, Any]]: ...


class SageMakerTrainingService:
    """Service for managing SageMaker training jobs."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sagemaker_client: Any | None = None,
        s3_client: Any | None = None,
        iam_client: Any | None = None,
        sts_client: Any | None = None,
        ecr_client: Any | None = None,
        quotas_client: Any | None = None,
        dataset_service: DatasetPreparationService | None = None,
        sleep: Callable[[float], None] = time.sleep,
        submit_timeout_seconds: float | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._clients: dict[str, Any] = {
            k: v
            for k, v in {
                "sagemaker": sagemaker_client,
                "s3": s3_client,
                "iam": iam_client,
                "sts": sts_client,
                "ecr": ecr_client,
                "service-quotas": quotas_client,
            }.items()
            if v is not None
        }
        self.datasets = dataset_service or DatasetPreparationService()
        self._sleep = sleep
        # Each process paces its own creates; the stack divides SageMaker's rate among the submission workers.
        self.pacer = pacer or Pacer(self.settings.sagemaker_create_rate)
        self.submit_timeout_seconds = (
            self.settings.sagemaker_submit_timeout_seconds
            if submit_timeout_seconds is None
            else submit_timeout_seconds
        )

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            found = aws_client(service, self.settings.region)
            self._clients[service] = found
        return found

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    # -- configuration -------------------------------------------------------------------------------------

    def validate_configuration(self) -> dict[str, Any]:
        """Validate SageMaker configuration and permissions.

        Returns:
            ``{"valid": bool, "checks": [{"name", "ok", "detail", "fix"}, ...]}``; ``ok`` is None for a check
            that could not be made (it does not make the configuration invalid).
        """
        return AccountChecks(self.settings, self.client).validate_configuration()

    def create_execution_role(self, role_name: str) -> str:
        """Create IAM execution role for SageMaker training.

        The role trusts only SageMaker and may read the dataset prefix, write the output prefix, pull from
        Trainforge's ECR repository and write its logs and metrics. Calling it again for a role Trainforge
        created brings its policies up to date; a role of that name that Trainforge did not create is refused
        (``RoleConflictError``) and left untouched.

        Raises:
            SageMakerConfigurationError: If role creation fails
        """
        return execution_roles.create_execution_role(self.client("iam"), self.settings, role_name)

    # -- datasets --------------------------------------------------------------------------------------------

    def upload_training_data(
        self,
        dataset_folder: str,
        metadata_file: str,
        s3_bucket: str,
        s3_prefix: str,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> str:
        """Upload training data to S3.

        Validates the folder against its metadata file, uploads every referenced file (a file already there with
        the same sha256 is skipped, so an interrupted upload resumes), then the metadata file, then the manifest:
        its arrival means the dataset is complete.

        Returns:
            S3 URI of uploaded data (``s3://bucket/prefix/``)

        Raises:
            SageMakerError: If upload fails (``DatasetValidationError`` listing every problem when invalid)
        """
        return upload_dataset_folder(
            self.client("s3"),
            self.datasets,
            dataset_folder,
            metadata_file,
            s3_bucket,
            s3_prefix,
            progress=progress,
        )

    # -- jobs ------------------------------------------------------------------------------------------------

    def record_training_job(
        self,
        config: TrainingConfig,
        s3_input_uri: str,
        s3_output_uri: str,
        role_arn: str,
        image_uri: str,
        db: Session | Database,
        *,
        idempotency_key: str | None = None,
        source_uri: str | None = None,
    ) -> tuple[int, bool]:
        """Validate and record a job as Pending (committed); returns (id, created). Nothing is sent to SageMaker."""
        db = as_database(db)
        return record_job(
            db,
            self.settings,
            config,
            s3_input_uri,
            s3_output_uri,
            role_arn,
            image_uri,
            idempotency_key=idempotency_key,
            source_uri=source_uri,
        )

    def submit_training_job(
        self,
        config: TrainingConfig,
        s3_input_uri: str,
        s3_output_uri: str,
        role_arn: str,
        image_uri: str,
        db: Session,
        *,
        idempotency_key: str | None = None,
    ) -> int:
        """Submit SageMaker training job.

        Records the job, submits it and returns its id. The same submission again (same job name or idempotency
        key) returns the same id and creates no second SageMaker job. Throttling is retried with backoff.

        Raises:
            SageMakerJobError: If job submission fails (the job is kept, marked Failed with SageMaker's reason)
        """
        job_id, _ = self.record_training_job(
            config, s3_input_uri, s3_output_uri, role_arn, image_uri, db, idempotency_key=idempotency_key
        )
        self.submit_pending_job(job_id, db)
        return job_id

    def submit_pending_job(self, job_id: int, db: Session | Database) -> bool:
        """Send a recorded Pending job to SageMaker. True if this call sent it; False if it had already left or
        it waits for capacity (``WaitingForCapacity``: its pool's queue sends it when instances free up).

        Raises :class:`RetryableSubmissionError` when SageMaker stays busy past the deadline (the job stays
        Pending, so a queue can deliver it again), :class:`SageMakerJobError` when SageMaker refuses it or it
        can never get the instances it asks for.
        """
        return send_pending_job(as_database(db), job_id, self._sender())

    def submit_pending_tuning_job(self, tuning_id: int, db: Session | Database) -> bool:
        """Send a recorded Pending tuning job (``CreateHyperParameterTuningJob``, paced with training creates)."""
        # only the contract's Session path and tuning need these: handlers that import the facade do not load them
        from trainforge.tuning.jobs import send_pending_tuning_job

        return send_pending_tuning_job(as_database(db), tuning_id, self._sender())

    def _sender(self) -> Sender:
        return Sender(self.settings, self.client("s3"), self.sagemaker, self.pacer, self.submit_timeout_seconds,
                      self._sleep)  # fmt: skip

    def describe(self, job_name: str) -> dict[str, Any] | None:
        """``DescribeTrainingJob``, or None when SageMaker does not know the job."""
        return describe_job(self.sagemaker, job_name)

    def get_job_status(self, job_id: int, db: Session) -> dict[str, Any]:
        """Get status of SageMaker training job (with its report and status history)."""
        return job_queries.job_status(as_database(db), job_id)

    def cancel_training_job(self, job_id: int, db: Session) -> bool:
        """Cancel SageMaker training job. True if a stop was requested or the job never left; False (job
        untouched) if it had already finished."""
        return cancel_job(self, job_id, as_database(db))

    def apply_description(self, db: Session | Database, description: dict[str, Any]) -> None:
        """Apply a ``DescribeTrainingJob`` answer through the same path as an event."""
        db = as_database(db)
        record_state_change(
            db,
            state_change_from_description(description),
            record_external=self.settings.record_external_jobs,
            describe=answer_with(description),
            region=self.settings.region,
        )

    def list_training_jobs(
        self,
        db: Session,
        *,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """List SageMaker training jobs, newest first (one page; :meth:`list_training_jobs_page` gives the cursor)."""
        page: list[dict[str, Any]] = self.list_training_jobs_page(
            db,
            status=status,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
        )["jobs"]
        return page

    def list_training_jobs_page(
        self,
        db: Session | Database,
        *,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
        job_name: str | None = None,
    ) -> dict[str, Any]:
        """A page of jobs, newest first, and the next page's cursor."""
        db = as_database(db)
        return job_queries.jobs_page(
            db,
            status=status,
            created_after=created_after,
            created_before=created_before,
            cursor=cursor,
            limit=limit,
            job_name=job_name,
        )


def as_database(db: Session | Database) -> Database:
    """A :class:`Database` as it is; a SQLAlchemy ``Session`` (the contract's callers) through its adapter."""
    if hasattr(db, "rows"):
        return db
    # only the contract's Session path and tuning need these: handlers that import the facade do not load them
    from trainforge.db import SessionDatabase

    return SessionDatabase(db)
