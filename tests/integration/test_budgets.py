"""Budgets and team limits that hold, on real PostgreSQL and moto's server: concurrent submissions against the
last dollars, a finished job's cost booked and its commitment returned once, and a team's instance limit that
makes jobs wait (like capacity) instead of failing."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.clock import Clock, parse_moment, rebase_times
from tests.conftest import EVENTS
from tests.integration.test_capacity import connections, finish, race, set_quota, status  # noqa: F401
from trainforge import repository
from trainforge.capacity import admission as capacity
from trainforge.connection import NativeDatabase
from trainforge.errors import BudgetExceededError
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.jobs.records import accept_job_request
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings
from trainforge.teams import budgets
from trainforge.teams import management as teams

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)

INPUT = "s3://trainforge-datasets/datasets/vision/churn/"
HOUR_OF_M5_LARGE = Decimal("0.1150")  # the bundled price: $0.115 an hour


@pytest.fixture
def service(settings: Settings) -> SageMakerTrainingService:
    return SageMakerTrainingService(settings, sleep=lambda _s: None)


def make_team(database: NativeDatabase, **limits: Any) -> repository.teams.TeamRow:
    team, _ = repository.upsert_team(
        database,
        {"name": "vision", "members": ["arn:aws:iam::123456789012:role/vision"], "monthly_budget_usd": None,
         "max_instances_in_flight": None, "allowed_instance_types": None, "max_runtime_seconds": None, **limits},
    )  # fmt: skip
    return team


def accept(database: NativeDatabase, settings: Settings, team: Any, name: str, seconds: int = 3600) -> int:
    config = TrainingConfig(job_name=name, instance_type="ml.m5.large", max_runtime_seconds=seconds)
    job_id, _ = accept_job_request(database, settings, config, INPUT, team=team, submitted_by="tests")
    return job_id


def test_fifty_concurrent_submissions_against_a_budget_for_seven_admit_exactly_seven(
    settings: Settings,
    database: NativeDatabase,
    connections: list[NativeDatabase],  # noqa: F811
) -> None:
    team = make_team(database, monthly_budget_usd=HOUR_OF_M5_LARGE * 7)  # $0.805, stored as $0.81
    accepted: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()

    def submit(connection: NativeDatabase, n: int) -> None:
        try:
            job_id = accept(connection, settings, team, f"budget-{n}")
        except BudgetExceededError as exc:
            with lock:
                refused.append(exc.message)
            return
        with lock:
            accepted.append(job_id)

    race(connections, submit, list(range(50)))
    assert len(accepted) == 7 and len(refused) == 43
    spent, committed = repository.month_spend(database, "vision", budgets.this_month())
    assert (spent, committed) == (Decimal(0), HOUR_OF_M5_LARGE * 7)
    assert all("monthly budget is $0.81: $0.00 spent" in message for message in refused)
    assert any("$0.81 committed by jobs in flight" in message for message in refused)  # $0.805, to the cent
    rows = database.rows(
        "SELECT count(*) AS n, sum(budget_held_usd) AS held FROM training_jobs WHERE team = 'vision'"
    )
    assert rows[0]["n"] == 7 and rows[0]["held"] == HOUR_OF_M5_LARGE * 7  # refused jobs left no row


def test_a_finished_job_books_its_cost_and_returns_its_commitment_once(
    service: SageMakerTrainingService, settings: Settings, database: NativeDatabase
) -> None:
    set_quota(database, 10)
    team = make_team(database, monthly_budget_usd=Decimal("0.30"))
    first = accept(database, settings, team, "first")
    service.submit_pending_job(first, database)
    with pytest.raises(BudgetExceededError, match=r"\$0.12 committed by jobs in flight"):
        accept(database, settings, team, "second", seconds=7200)  # $0.23 > $0.30 - $0.115
    finish(service, database, first)
    finish(service, database, first)  # a redelivered terminal event books nothing twice
    spent, committed = repository.month_spend(database, "vision", budgets.this_month())
    report = repository.report_of(database, first)
    assert report is not None and report.estimated_cost_usd is not None
    assert committed == 0 and spent == report.estimated_cost_usd
    job = repository.get_job(database, first)
    assert job is not None and job.budget_released_at is not None and job.budget_held_usd == 0
    accept(database, settings, team, "second", seconds=7200)  # fits now that only the real cost counts
    usage = teams.usage(database, team, budgets.this_month())
    assert usage["spent_usd"] == float(report.estimated_cost_usd)
    assert [(row["instance_type"], row["jobs"]) for row in usage["by_instance_type"]] == [("ml.m5.large", 1)]
    assert len(usage["by_day"]) == 1 and usage["by_day"][0]["usd"] == float(report.estimated_cost_usd)
    assert usage["jobs_by_outcome"] == {"Completed": 1, "Pending": 1}


def ended_now(service: SageMakerTrainingService, database: NativeDatabase, job_id: int) -> None:
    """The job's Completed event as SageMaker sends it when the job ends at the clock's now."""
    job = repository.get_job(database, job_id)
    assert job is not None
    raw = json.loads((EVENTS / "sagemaker_training_completed.json").read_text())
    newest = datetime.fromtimestamp(raw["detail"]["LastModifiedTime"] / 1000, UTC)
    detail = rebase_times(raw, datetime.now(UTC) - newest)["detail"]
    detail.update(
        {
            "TrainingJobName": job.job_name,
            "ResourceConfig": {"InstanceType": job.instance_type, "InstanceCount": 1},
        }
    )
    service.apply_description(database, detail)
    capacity.release_and_admit(database, job_id, lambda _id: None)


@pytest.mark.calendar
@pytest.mark.parametrize("accepted", ["2027-01-31T23:59:59Z", "2027-12-31T23:59:59Z"])
def test_a_job_counts_in_the_month_it_was_accepted_in_every_figure(
    clock: Clock,
    accepted: str,
    service: SageMakerTrainingService,
    settings: Settings,
    database: NativeDatabase,
) -> None:
    moment = parse_moment(accepted)
    clock.travel(moment)
    set_quota(database, 10)
    team = make_team(database, monthly_budget_usd=Decimal(5))
    job_id = accept(database, settings, team, "midnight")
    service.submit_pending_job(job_id, database)
    clock.travel(moment + timedelta(minutes=20))  # it ends in the next month (and year)
    ended_now(service, database, job_id)
    report = repository.report_of(database, job_id)
    assert report is not None and report.estimated_cost_usd
    cost = float(report.estimated_cost_usd)
    month, following = date(moment.year, moment.month, 1), (moment + timedelta(days=1)).date()
    usage = teams.usage(database, team, month)
    assert (usage["spent_usd"], usage["committed_usd"]) == (cost, 0)
    assert usage["jobs_by_outcome"] == {"Completed": 1}
    assert usage["by_day"] == [{"day": moment.date().isoformat(), "usd": cost, "jobs": 1}]  # the month's last
    assert usage["by_instance_type"] == [{"instance_type": "ml.m5.large", "usd": cost, "jobs": 1}]
    nothing = teams.usage(database, team, following)
    assert (nothing["spent_usd"], nothing["committed_usd"]) == (0, 0)
    assert nothing["jobs_by_outcome"] == {} and nothing["by_day"] == [] and nothing["by_instance_type"] == []
    assert budgets.this_month() == following  # the clock did move on: the job is January's (December's) alone


def test_over_its_instance_limit_a_teams_job_waits_and_the_teams_next_end_admits_it(
    service: SageMakerTrainingService, settings: Settings, database: NativeDatabase
) -> None:
    set_quota(database, 10)
    team = make_team(database, max_instances_in_flight=1)
    first, second = accept(database, settings, team, "one"), accept(database, settings, team, "two")
    service.submit_pending_job(first, database)
    service.submit_pending_job(second, database)
    assert (status(database, first), status(database, second)) == ("InProgress", "WaitingForCapacity")
    waiting = [h for h in repository.history_of(database, second) if h.status == "WaitingForCapacity"]
    assert waiting[0].secondary_status == "TeamInstanceLimit"
    assert waiting[0].detail == "team vision: 1 of 1 instances in flight (its max_instances_in_flight)"
    # the pool has room: its own admissions do not pass the team's limit
    assert capacity.admit_waiting(database, "ml.m5.large", lambda _id: None) == []
    assert finish(service, database, first) == [second]
    held = repository.get_team(database, "vision")
    assert held is not None and held.instances_in_flight == 1  # the second job's instance now


def test_teams_racing_for_their_instances_never_pass_the_limit(
    service: SageMakerTrainingService, settings: Settings, database: NativeDatabase,
    connections: list[NativeDatabase],  # noqa: F811
) -> None:  # fmt: skip
    set_quota(database, 100)
    team = make_team(database, max_instances_in_flight=3)
    ids = [accept(database, settings, team, f"inflight-{n}") for n in range(24)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def admit(connection: NativeDatabase, job_id: int) -> None:
        job = repository.get_job(connection, job_id)
        assert job is not None
        outcome = capacity.admit(connection, job, settings.max_queue_seconds).outcome
        with lock:
            outcomes.append(outcome)

    race(connections, admit, ids)
    assert outcomes.count("admitted") == 3 and outcomes.count("queued") == 21
    held = repository.get_team(database, "vision")
    assert held is not None and held.instances_in_flight == 3
