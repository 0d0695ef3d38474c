"""The door merges facts: a job SageMaker reported before its own submission committed (recorded from its events,
which carry Trainforge's tag) is completed by that submission with what only it knows, and healed by the
reconciler like any of Trainforge's jobs. A job started outside Trainforge keeps its name to itself."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from tests.conftest import load_event
from tests.integration.test_budgets import make_team
from trainforge import repository
from trainforge.connection import NativeDatabase
from trainforge.errors import JobConflictError
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.jobs.records import accept_job_request
from trainforge.settings import Settings
from trainforge.tracking.state_changes import record_state_change, state_change_from_description

INPUT = "s3://trainforge-datasets/datasets/vision/churn/"


def reported(database: NativeDatabase, name: str, *, ledger: bool = False, **detail: object) -> None:
    """SageMaker's InProgress event for ``name``, applied as the training_state handler applies it."""
    found = copy.deepcopy(load_event("sagemaker_training_in_progress.json")["detail"])
    found.update(
        {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            **detail,
        }
    )
    record_state_change(database, state_change_from_description(found), record_external=ledger)


def test_a_submission_completes_the_job_its_events_recorded_first(
    settings: Settings, database: NativeDatabase
) -> None:
    reported(database, "early-bird")
    before = repository.get_job_by_name(database, "early-bird")
    assert before is not None and (before.origin, before.config, before.status) == (
        "trainforge",
        None,
        "InProgress",
    )
    team = make_team(database, monthly_budget_usd=Decimal(5))
    config = TrainingConfig(job_name="early-bird", instance_type="ml.m5.large", max_runtime_seconds=3600)
    job_id, created = accept_job_request(
        database, settings, config, INPUT, team=team, submitted_by="arn:aws:iam::123456789012:role/vision",
        source_uri="s3://trainforge-datasets/datasets/vision/churn/manifest.json",
    )  # fmt: skip
    assert (job_id, created) == (before.id, True)
    job = repository.get_job(database, job_id)
    assert job is not None
    assert job.config is not None and job.config["job_name"] == "early-bird"
    assert (job.team, job.submitted_by) == ("vision", "arn:aws:iam::123456789012:role/vision")
    assert job.source_uri == "s3://trainforge-datasets/datasets/vision/churn/manifest.json"
    assert (job.origin, job.input_uri) == ("trainforge", INPUT)
    assert (job.status, job.secondary_status) == ("InProgress", "Training")  # as SageMaker last said
    assert job.budget_month is not None and job.budget_held_usd > 0  # its ceiling is held like any job's
    assert [j.id for j in repository.jobs_to_reconcile(database, older_than_minutes=-1)] == [job_id]


def test_a_job_started_outside_trainforge_keeps_its_name(
    settings: Settings, database: NativeDatabase
) -> None:
    reported(database, "theirs", ledger=True, Tags={"team": "research"})
    job = repository.get_job_by_name(database, "theirs")
    assert job is not None and job.origin == "external"
    with pytest.raises(JobConflictError, match="job_name"):
        accept_job_request(database, settings, TrainingConfig(job_name="theirs"), INPUT)
    after = repository.get_job_by_name(database, "theirs")
    assert after is not None and (after.origin, after.config) == ("external", None)
