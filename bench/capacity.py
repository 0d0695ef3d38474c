"""200 jobs submitted at once for one instance type whose quota is 4: the instances in use never exceed 4, every
job completes, none is sent twice, and a job's end admits the next within its own event's handling.

Real parts: PostgreSQL, moto's server (S3, CloudWatch), local SageMaker running each job's script as a process
and enforcing the quota as SageMaker does, Service Quotas' stand-in over HTTP read by the sweep. In-process
queues stand in for EventBridge → SQS: the submission queue (two workers, as deployed) and the state-change
queue (the training_state handler's work: apply the state, release, admit, request submissions).
"""

from __future__ import annotations

import queue
import statistics
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bench.common import Row, row
from trainforge.capacity import admission as capacity
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.aws.emulator import LocalAws, environment
from trainforge.local.aws.resources import provision
from trainforge.local.aws.standins import AccountStandIns
from trainforge.local.postgres import scratch_database
from trainforge.local.sagemaker.runner import LocalSageMaker
from trainforge.schema import upgrade_to_head
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings
from trainforge.tracking.state_changes import record_state_change, state_change_from_description

INSTANCE_TYPE = "ml.m5.large"
QUOTA = 4
TRAIN = """import os, time
time.sleep(0.2)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("ok")
print("loss=0.1")
"""


class CountingSageMaker:
    """Local SageMaker, counting each name's creates and the quota refusals it answered."""

    def __init__(self, inner: LocalSageMaker) -> None:
        self.inner = inner
        self.creates: Counter[str] = Counter()
        self.refused = 0

    def create_training_job(self, **request: Any) -> dict[str, Any]:
        try:
            answer = self.inner.create_training_job(**request)
        except Exception as exc:
            if "ResourceLimitExceeded" in str(exc):
                self.refused += 1
            raise
        self.creates[request["TrainingJobName"]] += 1
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def capacity_queue(server_url: str, jobs: int = 200) -> list[Row]:
    aws = LocalAws().start()
    stand_ins = AccountStandIns(((INSTANCE_TYPE, QUOTA),)).start()
    restore = ExitStack()
    restore.enter_context(environment({**aws.environ(), **stand_ins.environ()}))
    work_dir = Path(tempfile.mkdtemp(prefix="trainforge-bench-capacity-"))
    try:
        with scratch_database(server_url, "trainforge_bench_capacity") as url:
            settings = Settings.from_env({
                **aws.environ(), "DATABASE_URL": url, "TRAINFORGE_TRAINING_ENVIRONMENT": "local",
                "TRAINFORGE_LOCAL_WORK_DIR": str(work_dir), "TRAINFORGE_SAGEMAKER_CREATE_RATE": "25",
                "TRAINFORGE_LOCAL_INSTANCE_QUOTAS": f"{INSTANCE_TYPE}={QUOTA}",
            })  # fmt: skip
            provision(settings)
            engine = create_engine(url)
            upgrade_to_head(engine)
            engine.dispose()
            return _run(settings, url, work_dir, jobs, stand_ins)
    finally:
        stand_ins.stop()
        aws.stop()
        restore.close()


def _run(settings: Settings, url: str, work_dir: Path, jobs: int, stand_ins: AccountStandIns) -> list[Row]:
    import boto3

    def connect() -> NativeDatabase:
        return NativeDatabase(lambda: ConnectionParameters.from_url(url))

    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    submissions: queue.Queue[int | None] = queue.Queue()
    local = LocalSageMaker(settings, emit=events.put)
    sagemaker = CountingSageMaker(local)
    code = work_dir / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    image = f"{settings.ecr_repository_uri}:bench"
    local.register_image(image, code)

    setup = connect()
    sweep = capacity.sweep(
        setup, region=settings.region, default_max_queue=86400, notify=lambda _id: None,
        quotas_client=boto3.client("service-quotas", region_name=settings.region),
    )  # fmt: skip
    assert sweep.quotas_read, sweep.errors
    recorder = SageMakerTrainingService(settings, sagemaker_client=sagemaker)
    ids = [
        recorder.record_training_job(
            TrainingConfig(job_name=f"cap-{n}", instance_type=INSTANCE_TYPE, image_uri=image, max_runtime_seconds=600),
            "s3://trainforge-datasets/datasets/capacity/", "s3://trainforge-artifacts/output/",
            settings.execution_role_arn, image, setup,
        )[0]
        for n in range(jobs)
    ]  # fmt: skip

    samples: list[int] = []
    applied_after: list[
        float
    ] = []  # a job's end → its terminal state applied (one event's delivery and handling)
    admitted_after: list[float] = []  # a job's end → the next job admitted
    failures: list[str] = []
    done = threading.Event()

    def submit_worker() -> None:
        db = connect()
        service = SageMakerTrainingService(settings, sagemaker_client=sagemaker)
        while (job_id := submissions.get()) is not None:
            try:
                service.submit_pending_job(job_id, db)
            except Exception as exc:
                failures.append(f"submit {job_id}: {type(exc).__name__}: {exc}")
        db.close()

    def state_worker() -> None:
        db = connect()
        while (event := events.get()) is not None:
            try:
                change = state_change_from_description(event["detail"])
                outcome = record_state_change(db, change, record_external=False, region=settings.region)
                if change.status not in ("Completed", "Failed", "Stopped") or outcome.job_id is None:
                    continue
                ended = change.ended_at or datetime.now(UTC)
                applied_after.append((datetime.now(UTC) - ended).total_seconds())
                admitted = capacity.release_and_admit(db, outcome.job_id, submissions.put)
                if admitted:
                    admitted_after.append((datetime.now(UTC) - ended).total_seconds())
            except Exception as exc:
                failures.append(f"state: {type(exc).__name__}: {exc}")
        db.close()

    def sample() -> None:
        while not done.wait(0.005):
            samples.append(local.instances_in_use(INSTANCE_TYPE))

    workers = [threading.Thread(target=submit_worker) for _ in range(2)]
    states = [threading.Thread(target=state_worker) for _ in range(2)]
    sampler = threading.Thread(target=sample)
    for thread in (*workers, *states, sampler):
        thread.start()
    started = time.perf_counter()
    for job_id in ids:  # all at once: the burst a platform team's sweep of experiments makes
        submissions.put(job_id)
    deadline = time.monotonic() + 900
    watch = connect()
    while time.monotonic() < deadline:
        (row_,) = watch.rows(
            "SELECT count(*) FILTER (WHERE status_rank >= 3) AS ended, "
            "count(*) FILTER (WHERE status = 'Completed') AS completed FROM training_jobs",
            {},
        )
        if row_["ended"] == jobs:
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    done.set()
    for _ in workers:
        submissions.put(None)
    for _ in states:
        events.put(None)
    for thread in (*workers, *states, sampler):
        thread.join(timeout=30)
    completed = int(row_["completed"])
    watch.close()
    setup.close()
    sent_twice = sum(1 for count in sagemaker.creates.values() if count > 1)
    peak = max(samples, default=0)
    admission = statistics.median(admitted_after) if admitted_after else float("inf")
    delivery = statistics.median(applied_after) if applied_after else 0.0
    p95 = statistics.quantiles(admitted_after, n=20)[-1] if len(admitted_after) >= 20 else admission
    ok = completed == jobs and sent_twice == 0 and peak <= QUOTA and not failures
    note = (f"{completed}/{jobs} completed in {elapsed:.1f} s; peak {peak} of {QUOTA} instances over {len(samples)} "
            f"samples; {sum(sagemaker.creates.values())} creates, {sent_twice} sent twice, {sagemaker.refused} refused "
            f"by SageMaker; {stand_ins.calls.get('ListServiceQuotas', 0)} quota reads; "
            + ("; ".join(failures[:2]) if failures else "no failures"))  # fmt: skip
    return [
        {"benchmark": f"capacity: {jobs} jobs, quota {QUOTA}: peak instances in use", "measured": peak,
         "unit": "instances", "baseline": QUOTA, "ratio": round(peak / QUOTA, 3), "target": "<= 1.0", "met": ok,
         "note": note},
        row("capacity: a job's end → the next admission (median), ÷ its end → its state applied",
            admission, delivery, "s", "<=", 2.0,
            note=f"admission median {admission * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; state applied median "
                 f"{delivery * 1000:.0f} ms after the end; a schedule period is 300 s"),
    ]  # fmt: skip
