"""At start, local mode holds what it kept (the emulator's services, local SageMaker's record) against what the
database remembers, and says where they disagree: a build listed SUCCEEDED whose image cannot run, a job's
missing model or logs. Nothing is left to disagree silently.

A job or tuning job the database follows as running, that local SageMaker has no record of, can never end on its
own: it is ended Failed, saying why, through SageMaker's own event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainforge.aws import error_code
from trainforge.connection import Database
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.repository.local_state import local_facts
from trainforge.s3_locations import split_s3_uri
from trainforge.tracking.logs import LOG_GROUP

EXAMPLES = 3


@dataclass
class Disagreements:
    ended: list[str] = field(default_factory=list)  # running in the database, unknown here: ended Failed
    images: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        said = []
        for found, what in (
            (self.ended, "running in the database but unknown to local SageMaker, now ended Failed"),
            (self.images, "images of successful builds that local SageMaker cannot run: build them again"),
            (self.artifacts, "model artifacts of finished jobs missing from the emulator's S3"),
            (self.logs, "jobs whose logs are missing from the emulator's CloudWatch Logs"),
        ):
            if found:
                shown = ", ".join(found[:EXAMPLES]) + (
                    f" and {len(found) - EXAMPLES} more" if len(found) > EXAMPLES else ""
                )
                said.append(f"{len(found)} {what}: {shown}")
        return said


def check_saved_state(database: Database, sagemaker: LocalSageMaker, s3: Any, logs: Any) -> Disagreements:
    facts = local_facts(database)
    found = Disagreements()
    for job in facts.jobs_running:
        if job.name not in sagemaker.jobs:
            sagemaker.end_lost_job(job.name, job.arn)
            found.ended.append(job.name)
    for tuning in facts.tuning_jobs_running:
        if tuning.name not in sagemaker.tuning_jobs:
            sagemaker.end_lost_tuning_job(tuning.name, tuning.arn)
            found.ended.append(tuning.name)
    found.images = [uri for uri in facts.built_images if not sagemaker.can_run(uri)]
    for name, uri in facts.model_artifacts:
        bucket, key = split_s3_uri(uri)
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NoSuchBucket", "403"):
                raise
            found.artifacts.append(name)
    for name in facts.jobs_with_logs:
        try:
            streams = logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/", limit=1
            )
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            streams = {}
        if not streams.get("logStreams"):
            found.logs.append(name)
    return found
