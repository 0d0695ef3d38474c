from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from tests.conftest import load_event
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.models.database import JobStatusHistory, TrainingJob, TrainingReport
from trainforge.tracking.state_changes import record_state_change, state_change_from_description

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)


def detail(name: str, **changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(load_event(name)["detail"])
    found.update(changes)
    return found


def lifecycle() -> list[dict[str, Any]]:
    """A job's true sequence of state changes, oldest first."""
    base = load_event("sagemaker_training_in_progress.json")["detail"]
    steps = [
        {**base, "SecondaryStatus": "Starting", "LastModifiedTime": 1795867000000},
        {**base, "SecondaryStatus": "Downloading", "LastModifiedTime": 1795867100000},
        {**base, "SecondaryStatus": "Training", "LastModifiedTime": 1795867200000},
        detail("sagemaker_training_completed.json"),
    ]
    return steps


@pytest.fixture(autouse=True)
def handlers_connection(database_url: str) -> Iterator[None]:
    """State changes go through the handlers' own connection (autocommit), as in production."""
    CONNECTION.append(NativeDatabase(lambda: ConnectionParameters.from_url(database_url)))
    yield
    CONNECTION.pop().close()


CONNECTION: list[NativeDatabase] = []


def apply(db: Session, description: dict[str, Any], record_external: bool = True) -> None:
    record_state_change(
        CONNECTION[0], state_change_from_description(description), record_external=record_external
    )
    db.expire_all()  # the test's session reads afresh what the handlers' connection wrote


def snapshot(db: Session) -> dict[str, Any]:
    job = db.scalars(select(TrainingJob)).one()
    report = db.scalars(select(TrainingReport)).one_or_none()
    history = [
        (h.status, h.secondary_status, h.at)
        for h in db.scalars(select(JobStatusHistory).order_by(JobStatusHistory.at))
    ]
    return {
        "status": job.status,
        "secondary": job.secondary_status,
        "ended_at": job.ended_at,
        "history": history,
        "report": None
        if report is None
        else (
            report.final_metrics,
            report.model_artifacts_uri,
            report.billable_seconds,
            report.estimated_cost_usd,
        ),
    }


def outside(name: str, **changes: Any) -> dict[str, Any]:
    """A job started outside Trainforge: its tags are not Trainforge's."""
    return detail(name, Tags={"team": "research"}, **changes)


def test_an_unknown_job_is_recorded_as_external(db: Session) -> None:
    apply(db, outside("sagemaker_training_in_progress.json"))
    job = db.scalars(select(TrainingJob)).one()
    assert (job.job_name, job.origin, job.status, job.secondary_status) == (
        "churn-model-1",
        "external",
        "InProgress",
        "Training",
    )


def test_unknown_jobs_are_ignored_when_the_ledger_is_off(db: Session) -> None:
    apply(db, outside("sagemaker_training_in_progress.json"), record_external=False)
    assert db.scalar(select(func.count()).select_from(TrainingJob)) == 0


def test_a_job_with_trainforges_tag_reported_before_its_record_is_kept_as_trainforges(db: Session) -> None:
    """Its submission has not committed yet: the report is kept (whatever the ledger) for it to complete."""
    apply(db, detail("sagemaker_training_in_progress.json"), record_external=False)
    job = db.scalars(select(TrainingJob)).one()
    assert (job.origin, job.config, job.status) == ("trainforge", None, "InProgress")


def test_a_completed_job_gets_its_report_with_cost(db: Session) -> None:
    apply(db, detail("sagemaker_training_completed.json"))
    state = snapshot(db)
    metrics, artifacts, billable, cost = state["report"]
    assert metrics == {"validation:accuracy": 0.91, "train:loss": 0.23}
    assert artifacts.endswith("/churn-model-1/output/model.tar.gz")
    assert billable == 400
    assert float(cost) == round(0.23 * 2 * 400 / 3600, 4)


def test_a_late_in_progress_after_completed_changes_nothing(db: Session) -> None:
    apply(db, detail("sagemaker_training_completed.json"))
    apply(db, detail("sagemaker_training_in_progress.json"))
    job = db.scalars(select(TrainingJob)).one()
    assert (job.status, job.secondary_status) == ("Completed", "Completed")


def test_a_duplicate_event_adds_no_history(db: Session) -> None:
    for _ in range(3):
        apply(db, detail("sagemaker_training_in_progress.json"))
    assert db.scalar(select(func.count()).select_from(JobStatusHistory)) == 1


def test_a_duplicate_terminal_event_keeps_the_report_whole(db: Session) -> None:
    apply(db, detail("sagemaker_training_completed.json"))
    bare = detail("sagemaker_training_completed.json")
    for key in ("FinalMetricDataList", "ModelArtifacts", "BillableTimeInSeconds"):
        bare.pop(key)
    apply(db, bare)
    report = db.scalars(select(TrainingReport)).one()
    assert report.final_metrics and report.model_artifacts_uri and report.billable_seconds == 400


def test_every_order_of_a_lifecycle_ends_in_the_same_state(engine: Engine) -> None:
    from tests.conftest import truncate_all

    steps = lifecycle()
    expected: dict[str, Any] | None = None
    for order in itertools.permutations(steps):
        with Session(engine) as db:
            for step in order:
                apply(db, step)
            state = snapshot(db)
        truncate_all(engine)
        if expected is None:
            expected = state
        assert state == expected
    assert expected is not None
    assert expected["status"] == "Completed" and expected["report"] is not None
    assert [h[1] for h in expected["history"]] == ["Starting", "Downloading", "Training", "Completed"]


def test_newer_secondary_statuses_win_within_in_progress(db: Session) -> None:
    steps = lifecycle()
    apply(db, steps[2])
    apply(db, steps[0])
    job = db.scalars(select(TrainingJob)).one()
    assert job.secondary_status == "Training"


def test_failure_reason_is_kept(db: Session) -> None:
    apply(db, detail("sagemaker_training_failed.json"))
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Failed" and "ExecuteUserScriptError" in (job.failure_reason or "")


def sparse(description: dict[str, Any]) -> dict[str, Any]:
    """What a thin delivery may carry: the name, the status and little else."""
    keep = ("TrainingJobName", "TrainingJobStatus", "SecondaryStatus", "LastModifiedTime")
    return {k: v for k, v in description.items() if k in keep}


def facts(db: Session) -> dict[str, Any]:
    db.expire_all()
    job = db.scalars(select(TrainingJob)).one()
    names = ("sagemaker_arn", "instance_type", "instance_count", "role_arn", "image_uri", "input_uri")
    return {name: getattr(job, name) for name in (*names, "output_uri", "started_at", "created_at")}


def test_an_external_job_first_seen_sparse_ends_with_every_fact_whatever_the_order(db: Session) -> None:
    steps = lifecycle()
    full = [steps[2], steps[3]]
    expected: dict[str, Any] | None = None
    for order in itertools.permutations([sparse(steps[0]), sparse(steps[3]), *full]):
        for step in order:
            apply(db, step)
        found = facts(db)
        assert all(value is not None for value in found.values()), found
        assert db.scalars(select(TrainingJob)).one().status == "Completed"
        expected = expected or found
        assert found == expected
        db.execute(TrainingJob.__table__.delete())
        db.commit()


def test_a_fact_filling_delivery_does_not_move_the_status(db: Session) -> None:
    steps = lifecycle()
    apply(db, sparse(steps[3]))
    apply(db, steps[2])  # older, but carries the role, image and data
    job = db.scalars(select(TrainingJob)).one()
    db.refresh(job)
    assert (job.status, job.secondary_status) == ("Completed", "Completed")
    assert job.role_arn and job.image_uri and job.input_uri


def test_a_healed_job_gets_every_step_sagemaker_lists_at_its_time(db: Session) -> None:
    """The reconciler's describe carries SecondaryStatusTransitions (boto3 parses their times): the history
    gets each step at the time SageMaker says it began, not only the final state."""
    from datetime import UTC, datetime

    from trainforge.tracking.state_changes import reconcile_stale_jobs

    apply(db, {**lifecycle()[0], "TrainingJobName": "healed"})  # the job was last heard of as Starting
    db.execute(text("UPDATE training_jobs SET origin = 'trainforge', updated_at = now() - interval '1 hour'"))
    db.commit()
    at = [datetime(2026, 11, 29, 9, minute, tzinfo=UTC) for minute in range(6)]
    described = {
        **detail("sagemaker_training_completed.json"),
        "TrainingJobName": "healed",
        "SecondaryStatusTransitions": [
            {
                "Status": "Starting",
                "StartTime": at[0],
                "EndTime": at[1],
                "StatusMessage": "Preparing the instances",
            },
            {
                "Status": "Downloading",
                "StartTime": at[1],
                "EndTime": at[2],
                "StatusMessage": "Downloading data",
            },
            {
                "Status": "Training",
                "StartTime": at[2],
                "EndTime": at[4],
                "StatusMessage": "Training in progress",
            },
            {
                "Status": "Uploading",
                "StartTime": at[4],
                "EndTime": at[5],
                "StatusMessage": "Uploading output",
            },
            {"Status": "Completed", "StartTime": at[5], "StatusMessage": "Training job completed"},
        ],
    }

    class SageMaker:
        def describe(self, job_name: str) -> dict[str, Any]:
            return described

    counts = reconcile_stale_jobs(
        CONNECTION[0], SageMaker(), older_than_minutes=5, request_submission=lambda job_id: None
    )
    assert counts["described"] == 1 and counts["errors"] == 0
    db.expire_all()
    history = {(h.status, h.secondary_status): h.at for h in db.scalars(select(JobStatusHistory))}
    assert history[("InProgress", "Downloading")] == at[1]
    assert history[("InProgress", "Training")] == at[2]
    assert history[("InProgress", "Uploading")] == at[4]
    assert ("Completed", "Completed") in history
    first_heard = datetime.fromtimestamp(lifecycle()[0]["LastModifiedTime"] / 1000, UTC)
    assert history[("InProgress", "Starting")] == min(first_heard, at[0]), (
        "the earliest report of a step wins"
    )


def test_a_failed_job_says_how_far_it_got(db: Session) -> None:
    from trainforge.tracking.queries import job_status

    base = load_event("sagemaker_training_in_progress.json")["detail"]
    steps = [
        {
            **base,
            "TrainingJobName": "far",
            "SecondaryStatus": "Downloading",
            "LastModifiedTime": 1795867000000,
        },
        {**base, "TrainingJobName": "far", "SecondaryStatus": "Training", "LastModifiedTime": 1795867010000},
        {
            **detail("sagemaker_training_failed.json"),
            "TrainingJobName": "far",
            "LastModifiedTime": 1795867052000,
        },
    ]
    for step in reversed(steps):  # in any order
        apply(db, step)
    job_id = db.scalars(select(TrainingJob.id)).one()
    progress = job_status(CONNECTION[0], job_id)["progress"]
    assert progress == {"furthest_step": "Training", "trained_seconds": 42}


def test_the_newest_warm_pool_status_is_kept_whatever_the_order(db: Session) -> None:
    from trainforge.db import SessionDatabase

    database = SessionDatabase(db)
    base = copy.deepcopy(load_event("sagemaker_training_completed.json")["detail"])
    reports = [
        (1795867300000, {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 0}),
        (
            1795867900000,
            {"Status": "Reused", "ResourceRetainedBillableTimeInSeconds": 540, "ReusedByJob": "next-1"},
        ),
        (1795868000000, {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 600, "Bogus": 1}),
    ]
    for modified, warm_pool in [reports[2], reports[0], reports[1], reports[2]]:  # late, early, duplicate
        detail = {**base, "LastModifiedTime": modified, "WarmPoolStatus": warm_pool}
        record_state_change(database, state_change_from_description(detail), record_external=True)
        db.commit()
    job = db.scalars(select(TrainingJob)).one()
    assert job.status == "Completed"
    assert job.warm_pool == {"status": "Terminated", "retained_billable_seconds": 600, "reused_by_job": None}
