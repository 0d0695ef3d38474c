"""Waiting for capacity, on real PostgreSQL and moto's server: admission against a quota, the queue's order, its
limits, SageMaker's own ResourceLimitExceeded, and admissions racing each other."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.conftest import load_event
from trainforge import repository
from trainforge.capacity import admission as capacity
from trainforge.capacity.prices import price_of
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.errors import SageMakerJobError
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.aws.emulator import environment
from trainforge.local.aws.standins import AccountStandIns
from trainforge.local.training.hosts import free_port
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings

pytestmark = pytest.mark.calendar  # its times are read against the clock (tests/clock.py)

INPUT = "s3://trainforge-datasets/datasets/churn/"
OUTPUT = "s3://trainforge-artifacts/output/"
POOL = "ml.m5.large"


@pytest.fixture
def service(settings: Settings) -> SageMakerTrainingService:
    return SageMakerTrainingService(settings, sleep=lambda _s: None)


def set_quota(database: NativeDatabase, quota: int, pool: str = POOL) -> None:
    instance_type, _, spot = pool.partition("/")
    repository.store_quotas(
        database, [{"pool": pool, "instance_type": instance_type, "spot": bool(spot), "quota": quota}]
    )


def submit(service: SageMakerTrainingService, database: NativeDatabase, name: str, **config: Any) -> int:
    settings = service.settings
    job_id, _ = service.record_training_job(
        TrainingConfig(job_name=name, **config),
        INPUT,
        OUTPUT,
        settings.execution_role_arn,
        settings.default_image_uri,
        database,
    )
    service.submit_pending_job(job_id, database)
    return job_id


def status(database: NativeDatabase, job_id: int) -> str:
    job = repository.get_job(database, job_id)
    assert job is not None
    return job.status


def sagemaker_jobs(settings: Settings) -> set[str]:
    client = boto3.client("sagemaker", region_name=settings.region)
    return {j["TrainingJobName"] for j in client.list_training_jobs()["TrainingJobSummaries"]}


def finish(service: SageMakerTrainingService, database: NativeDatabase, job_id: int) -> list[int]:
    """The job's terminal event, as the training_state handler applies it, then its release and admissions."""
    job = repository.get_job(database, job_id)
    assert job is not None
    detail = copy.deepcopy(load_event("sagemaker_training_completed.json")["detail"])
    detail.update(
        {
            "TrainingJobName": job.job_name,
            "ResourceConfig": {"InstanceType": job.instance_type, "InstanceCount": job.instance_count},
        }
    )
    service.apply_description(database, detail)
    notified: list[int] = []
    capacity.release_and_admit(database, job_id, notified.append)
    return notified


def test_a_job_beyond_the_quota_waits_with_its_reason_and_sagemaker_never_hears_of_it(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 2)
    first, second, third = (submit(service, database, f"churn-{n}") for n in range(3))
    assert [status(database, j) for j in (first, second, third)] == [
        "InProgress",
        "InProgress",
        "WaitingForCapacity",
    ]
    assert sagemaker_jobs(service.settings) == {"churn-0", "churn-1"}
    shown = service.get_job_status(third, database)  # type: ignore[arg-type]
    waiting = [h for h in shown["history"] if h["status"] == "WaitingForCapacity"]
    assert waiting[0]["detail"] == "ml.m5.large: 2 of 2 instances in use by this account"
    assert shown["queue"]["position"] == 1 and shown["queue"]["pool"] == POOL
    assert repository.instances_in_use(database, POOL) == 2


def test_a_job_end_admits_the_next_and_its_redelivery_admits_nobody_else(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    first = submit(service, database, "churn-a")
    second = submit(service, database, "churn-b")
    third = submit(service, database, "churn-c")
    assert status(database, second) == status(database, third) == "WaitingForCapacity"

    assert finish(service, database, first) == [second]
    assert status(database, second) == "Pending" and repository.instances_in_use(database, POOL) == 1
    assert service.submit_pending_job(second, database) is True
    assert status(database, second) == "InProgress"

    # The same terminal event again: nothing left to release, so the third still waits.
    assert finish(service, database, first) == []
    assert status(database, third) == "WaitingForCapacity"
    assert repository.instances_in_use(database, POOL) == 1
    history = [h.secondary_status for h in repository.history_of(database, second)]
    assert history[:3] == ["", "InstanceQuota", "Admitted"]


def test_a_trial_trainforge_did_not_admit_uses_its_pools_instances_while_it_runs(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 2)
    trial = copy.deepcopy(load_event("sagemaker_training_in_progress.json")["detail"])
    trial.update({
        "TrainingJobName": "churn-tune-1-001-aaaa0001", "EnableManagedSpotTraining": False,
        "TuningJobArn": "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/churn-tune-1",
        "ResourceConfig": {"InstanceType": POOL, "InstanceCount": 2, "VolumeSizeInGB": 30},
    })  # fmt: skip
    for _ in range(2):  # counted once, however often it is reported running
        service.apply_description(database, trial)
    assert repository.instances_in_use(database, POOL) == 2
    waiting = submit(service, database, "churn-after-trial")
    assert status(database, waiting) == "WaitingForCapacity"
    assert "churn-after-trial" not in sagemaker_jobs(service.settings)
    found = repository.get_job_by_name(database, trial["TrainingJobName"])
    assert found is not None and found.capacity_pool == POOL
    trial_id = found.id
    ended = {**trial, "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
             "LastModifiedTime": datetime.now(UTC)}  # fmt: skip
    service.apply_description(database, ended)
    notified: list[int] = []
    capacity.release_and_admit(database, trial_id, notified.append)
    assert notified == [waiting] and repository.instances_in_use(database, POOL) == 1  # the trial's 2 → its 1
    # A trial first heard of when it ended takes nothing.
    service.apply_description(database, {**ended, "TrainingJobName": "churn-tune-1-002-aaaa0002"})
    assert repository.instances_in_use(database, POOL) == 1


def test_priority_orders_the_queue_within_a_pool(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    running = submit(service, database, "running")
    low = submit(service, database, "low")
    high = submit(service, database, "high", priority=5)
    assert service.get_job_status(high, database)["queue"]["position"] == 1  # type: ignore[arg-type]
    assert finish(service, database, running) == [high]
    assert status(database, low) == "WaitingForCapacity"


def test_a_new_job_does_not_pass_jobs_waiting_ahead_of_it(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    running = submit(service, database, "running")
    waiting = submit(service, database, "waiting")
    # Room appears without the queue being run (a quota raised): the newcomer still queues behind.
    set_quota(database, 2)
    newcomer = submit(service, database, "newcomer")
    assert status(database, newcomer) == "WaitingForCapacity"
    detail = [h.detail for h in repository.history_of(database, newcomer) if h.status == "WaitingForCapacity"]
    assert detail == ["ml.m5.large: 1 of 2 instances in use by this account; 1 waiting job(s) ahead of it"]
    notified: list[int] = []
    capacity.admit_waiting(database, POOL, notified.append)
    assert notified == [waiting]
    assert status(database, running) == "InProgress"


def test_a_job_larger_than_the_quota_fails_at_once_naming_it(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 2)
    with pytest.raises(
        SageMakerJobError, match=r"needs 3 instances of ml\.m5\.large but the account.s quota is 2"
    ):
        submit(service, database, "too-big", instance_count=3)
    assert sagemaker_jobs(service.settings) == set()


def test_max_queue_seconds_zero_fails_instead_of_waiting(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    submit(service, database, "running")
    with pytest.raises(SageMakerJobError, match="max_queue_seconds is 0"):
        submit(service, database, "impatient", max_queue_seconds=0)


def test_a_job_that_waited_past_its_limit_ends_failed_on_the_sweep(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    submit(service, database, "running")
    waiting = submit(service, database, "waiting", max_queue_seconds=60)
    patient = submit(service, database, "patient")  # the deployment's default: a day
    database.rows(
        "UPDATE training_jobs SET waiting_since = now() - interval '61 seconds' WHERE status = 'WaitingForCapacity'",
        {},
    )
    report = capacity.sweep(database, region="us-east-1", default_max_queue=86400, notify=lambda _id: None)
    assert report.expired == 1
    job = repository.get_job(database, waiting)
    assert job is not None and job.status == "Failed"
    assert (
        job.failure_reason is not None
        and "for capacity in ml.m5.large (max_queue_seconds is 60)" in job.failure_reason
    )
    assert status(database, patient) == "WaitingForCapacity"


def test_cancelling_a_waiting_job_stops_it_without_sagemaker(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    running = submit(service, database, "running")
    waiting = submit(service, database, "waiting")
    assert service.cancel_training_job(waiting, database) is True  # type: ignore[arg-type]
    job = repository.get_job(database, waiting)
    assert job is not None and (job.status, job.failure_reason) == (
        "Stopped",
        "cancelled while waiting for capacity",
    )
    assert sagemaker_jobs(service.settings) == {"running"}
    assert finish(service, database, running) == []  # nobody left to admit


def test_cancelling_an_admitted_job_before_it_is_sent_gives_its_instances_back(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    set_quota(database, 1)
    running = submit(service, database, "running")
    admitted = submit(service, database, "admitted")
    assert finish(service, database, running) == [admitted]
    assert repository.instances_in_use(database, POOL) == 1
    service.cancel_training_job(admitted, database)  # type: ignore[arg-type]
    assert repository.instances_in_use(database, POOL) == 0


class QuotaRefusingSageMaker:
    """SageMaker answering ResourceLimitExceeded in its own words (others in the account use the instances)."""

    def __init__(self, limit: int, used: int) -> None:
        self.limit, self.used, self.calls = limit, used, 0

    def create_training_job(self, **request: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.calls += 1
        raise ClientError(
            {
                "Error": {
                    "Code": "ResourceLimitExceeded",
                    "Message": f"The account-level service limit 'ml.m5.large for training job usage' is "
                    f"{self.limit} Instances, with current utilization of {self.used} Instances and a request "
                    "delta of 1 Instances. Please use AWS Service Quotas to request an increase for this quota.",
                }
            },
            "CreateTrainingJob",
        )


def test_sagemakers_resource_limit_exceeded_makes_the_job_wait_and_teaches_the_pool(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    refusing = QuotaRefusingSageMaker(limit=3, used=3)
    service._clients["sagemaker"] = refusing
    first = submit(service, database, "first")
    assert status(database, first) == "WaitingForCapacity"
    shown = service.get_job_status(first, database)  # type: ignore[arg-type]
    refused = [h for h in shown["history"] if h["secondary_status"] == "ResourceLimitExceeded"]
    assert refused and refused[0]["detail"].startswith("SageMaker: The account-level service limit")
    pool = repository.pool_state(database, POOL)
    assert pool is not None and (pool.quota, pool.quota_source, pool.in_use, pool.limit) == (
        3,
        "sagemaker",
        0,
        0,
    )
    # The pool is known full: the next job waits without calling SageMaker.
    second = submit(service, database, "second")
    assert status(database, second) == "WaitingForCapacity" and refusing.calls == 1


def test_another_resource_limit_still_fails_the_job(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    class Refusing:
        def create_training_job(self, **_: Any) -> dict[str, Any]:
            from botocore.exceptions import ClientError

            raise ClientError(
                {
                    "Error": {
                        "Code": "ResourceLimitExceeded",
                        "Message": "The number of training jobs is limited",
                    }
                },
                "CreateTrainingJob",
            )

    service._clients["sagemaker"] = Refusing()
    with pytest.raises(SageMakerJobError, match="ResourceLimitExceeded"):
        submit(service, database, "limited")


@pytest.fixture
def connections(database_url: str) -> Iterator[list[NativeDatabase]]:
    opened = [NativeDatabase(lambda: ConnectionParameters.from_url(database_url)) for _ in range(12)]
    yield opened
    for connection in opened:
        connection.close()


def race(connections: list[NativeDatabase], work: Any, items: list[Any]) -> None:
    """Every item's work at once, spread over separate connections, started together."""
    start = threading.Barrier(len(connections))
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            for item in items[index :: len(connections)]:
                work(connections[index], item)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(connections))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_forty_jobs_racing_for_four_instances_admit_exactly_four(
    service: SageMakerTrainingService, database: NativeDatabase, connections: list[NativeDatabase]
) -> None:
    set_quota(database, 4)
    settings = service.settings
    ids = [
        service.record_training_job(
            TrainingConfig(job_name=f"race-{n}"),
            INPUT,
            OUTPUT,
            settings.execution_role_arn,
            settings.default_image_uri,
            database,
        )[0]
        for n in range(40)
    ]
    outcomes: list[str] = []

    def admit(db: NativeDatabase, job_id: int) -> None:
        job = repository.get_job(db, job_id)
        assert job is not None
        outcomes.append(capacity.admit(db, job, 86400).outcome)

    race(connections, admit, ids)
    assert outcomes.count("admitted") == 4 and outcomes.count("queued") == 36
    assert repository.instances_in_use(database, POOL) == 4

    # Two jobs end at once, and admissions run from both ends and the sweep together: two more, never more.
    admitted = [j for j in ids if status(database, j) == "Pending"]
    database.rows(
        "UPDATE training_jobs SET status = 'Completed', status_rank = 3 WHERE id = ANY(CAST(:ids AS bigint[]))",
        {"ids": "{" + ",".join(map(str, admitted[:2])) + "}"},
    )
    notified: list[int] = []
    lock = threading.Lock()

    def notify(job_id: int) -> None:
        with lock:
            notified.append(job_id)

    def end_or_sweep(db: NativeDatabase, item: int | None) -> None:
        if item is None:
            capacity.admit_waiting(db, POOL, notify)
        else:
            capacity.release_and_admit(db, item, notify)

    race(connections, end_or_sweep, [admitted[0], admitted[1], admitted[0], *([None] * 9)])
    assert len(notified) == len(set(notified)) == 2
    assert repository.instances_in_use(database, POOL) == 4
    oldest_waiting = [j for j in ids if j not in admitted][:2]
    assert sorted(notified) == oldest_waiting


def test_quotas_and_prices_come_from_aws_on_the_sweep_and_the_bundled_table_only_as_a_fallback(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    before = price_of(database, "us-east-1", "ml.m5.large")
    assert before is not None and before.source.startswith("bundled table")
    stand_ins = AccountStandIns((("ml.m5.large", 3), ("ml.g5.xlarge/spot", 1)), page_size=1).start()
    try:
        with environment(stand_ins.environ()):
            quotas = boto3.client("service-quotas", region_name="us-east-1")
            pricing = boto3.client("pricing", region_name="us-east-1")
            report = capacity.sweep(
                database,
                region="us-east-1",
                default_max_queue=86400,
                notify=lambda _id: None,
                quotas_client=quotas,
                pricing_client=pricing,
            )
            assert report.errors == [] and report.quotas_read == 2 and report.prices_read
            # Read again at once: not due, so neither API is called.
            calls = dict(stand_ins.calls)
            capacity.sweep(
                database,
                region="us-east-1",
                default_max_queue=86400,
                notify=lambda _id: None,
                quotas_client=quotas,
                pricing_client=pricing,
            )
            assert stand_ins.calls == calls
    finally:
        stand_ins.stop()
    pool = repository.pool_state(database, "ml.g5.xlarge/spot")
    assert pool is not None and (pool.quota, pool.quota_source, pool.spot) == (1, "service-quotas", True)
    after = price_of(database, "us-east-1", "ml.m5.large")
    assert after is not None and after.usd_per_hour == Decimal("0.115")
    # The stand-in answered, not AWS: the price says whose it is (a ceiling never calls it AWS's).
    assert (
        after.source.startswith("Price List stand-in at 127.0.0.1:")
        and "(not AWS's prices), read " in after.source
    )
    # A job recorded now is priced from the Price List that answered, and its ceiling says so.
    job_id = submit(service, database, "priced", max_runtime_seconds=3600, instance_count=2)
    shown = service.get_job_status(job_id, database)  # type: ignore[arg-type]
    assert shown["cost_ceiling_usd"] == pytest.approx(0.23)
    assert shown["price"]["source"] == after.source


def test_an_unreachable_price_list_leaves_the_stored_prices_and_says_why(database: NativeDatabase) -> None:
    with environment({"AWS_ENDPOINT_URL_PRICING": f"http://127.0.0.1:{free_port()}"}):  # nothing listens
        report = capacity.sweep(
            database,
            region="us-east-1",
            default_max_queue=86400,
            notify=lambda _id: None,
            pricing_client=boto3.client("pricing", region_name="us-east-1"),
        )
    assert report.prices_read is None and report.errors and report.errors[0].startswith("prices: ")
    price = price_of(database, "us-east-1", "ml.p3.2xlarge")
    assert price is not None and price.source.startswith("bundled table")


def test_a_spot_job_reports_its_on_demand_equivalent_and_saving(
    service: SageMakerTrainingService, database: NativeDatabase
) -> None:
    job_id = submit(
        service,
        database,
        "spot-run",
        use_spot_instances=True,
        max_wait_seconds=7200,
        max_runtime_seconds=3600,
        checkpoint_s3_uri="s3://trainforge-artifacts/output/checkpoints/",
    )
    job = repository.get_job(database, job_id)
    assert job is not None and job.capacity_pool == "ml.m5.large/spot"
    detail = copy.deepcopy(load_event("sagemaker_training_completed.json")["detail"])
    start = datetime(2026, 11, 1, tzinfo=UTC)
    detail.update(
        {
            "TrainingJobName": "spot-run",
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "TrainingStartTime": int(start.timestamp() * 1000),
            "TrainingEndTime": int((start + timedelta(seconds=3600)).timestamp() * 1000),
            "BillableTimeInSeconds": 1200,
        }
    )
    service.apply_description(database, detail)
    report = service.get_job_status(job_id, database)["report"]  # type: ignore[arg-type]
    assert report["estimated_cost_usd"] == pytest.approx(0.0383, abs=1e-4)
    assert report["on_demand_equivalent_usd"] == pytest.approx(0.115, abs=1e-4)
    assert report["spot_saving_usd"] == pytest.approx(0.0767, abs=1e-4)


def test_local_sagemaker_enforces_its_quota_in_sagemakers_words(settings: Settings) -> None:
    from botocore.exceptions import ClientError

    from trainforge.jobs.sagemaker_calls import REFUSAL_CODES
    from trainforge.local.sagemaker.job import LocalJob
    from trainforge.local.sagemaker.runner import LocalSageMaker

    local = LocalSageMaker(
        Settings.from_env({"TRAINFORGE_LOCAL_INSTANCE_QUOTAS": "ml.m5.large=2", "TRAINFORGE_MODE": "local"})
    )
    request = {
        "TrainingJobName": "running",
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2},
    }
    local.jobs["running"] = LocalJob(request, "arn:aws:sagemaker:us-east-1:123456789012:training-job/running")
    with pytest.raises(ClientError) as caught:
        local.create_training_job(**{**request, "TrainingJobName": "next"})
    error = caught.value.response["Error"]
    assert error["Code"] == "ResourceLimitExceeded" and error["Code"] in REFUSAL_CODES
    refusal = capacity.CapacityRefusal.parse(error["Message"])
    assert refusal is not None and (refusal.quota, refusal.used) == (2, 2)
    assert local.instances_in_use("ml.m5.large") == 2
