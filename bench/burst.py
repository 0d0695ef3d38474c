"""A burst of submissions against a SageMaker that throttles creates: every one accepted, near the allowed rate."""

from __future__ import annotations

import queue
import threading
import time
from contextlib import ExitStack

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import Row, row
from trainforge.aws import _SERVICE_CONFIG
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.local.aws.emulator import LocalAws, environment
from trainforge.local.aws.resources import provision
from trainforge.local.aws.throttling import ThrottlingSageMakerEndpoint
from trainforge.local.postgres import scratch_database
from trainforge.schema import upgrade_to_head
from trainforge.services.sagemaker_training_service import SageMakerTrainingService
from trainforge.settings import Settings

# SageMaker admits ~1 create/s; the emulator is scaled up to a rate this machine sustains with room to spare.
BURST_RATE = 10.0
# As deployed: the workers together pace at 95% of SageMaker's rate, so jitter rarely throttles.
HEADROOM = 0.95
SAGEMAKER_CONFIG = _SERVICE_CONFIG["sagemaker"]


def submission_burst(server_url: str, submissions: int, rate: float, workers: int) -> list[Row]:
    aws = LocalAws().start()
    restore = ExitStack()
    restore.enter_context(environment(aws.environ()))  # boto3 reaches the emulator until the finally below
    # A bucket of `workers` tokens: each worker's paced slot fits even when their phases line up.
    endpoint = ThrottlingSageMakerEndpoint(aws.endpoint_url, rate_per_second=rate, burst=workers).start()
    try:
        with scratch_database(server_url, "trainforge_bench_burst") as url:
            settings = Settings.from_env({**aws.environ(), "DATABASE_URL": url, "TRAINFORGE_TRAINING_ENVIRONMENT": "sagemaker",
                                          "TRAINFORGE_SAGEMAKER_CREATE_RATE": str(rate * HEADROOM / workers)})  # fmt: skip
            provision(settings)
            engine = create_engine(url, pool_size=workers + 1)
            upgrade_to_head(engine)
            import boto3

            pending: queue.Queue[int] = queue.Queue()
            with Session(engine) as db:
                recorder = SageMakerTrainingService(settings)
                for index in range(submissions):
                    job_id, _ = recorder.record_training_job(
                        TrainingConfig(job_name=f"burst-{index}"), "s3://trainforge-datasets/datasets/burst/",
                        "s3://trainforge-artifacts/output/", settings.execution_role_arn, settings.default_image_uri, db,
                    )  # fmt: skip
                    pending.put(job_id)
            failures: list[str] = []

            def work() -> None:
                # Production's SageMaker client settings (no botocore retries on top of Trainforge's backoff).
                client = boto3.client(
                    "sagemaker",
                    region_name=settings.region,
                    endpoint_url=endpoint.endpoint_url,
                    config=SAGEMAKER_CONFIG,
                )
                service = SageMakerTrainingService(settings, sagemaker_client=client)
                with Session(engine) as db:
                    while True:
                        try:
                            job_id = pending.get_nowait()
                        except queue.Empty:
                            return
                        try:
                            service.submit_pending_job(job_id, db)
                        except Exception as exc:
                            failures.append(f"{type(exc).__name__}: {exc}")

            threads = [threading.Thread(target=work) for _ in range(workers)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            with engine.connect() as connection:
                accepted = connection.execute(
                    text("SELECT count(*) FROM training_jobs WHERE status = 'InProgress'")
                ).scalar_one()
            engine.dispose()
    finally:
        endpoint.stop()
        aws.stop()
        restore.close()
    achieved = accepted / elapsed
    return [
        row(f"burst: {submissions} submissions, {workers} workers", achieved, rate, "creates/s", ">=", 0.9,
            note=f"{accepted} accepted, {len(failures)} failed, {endpoint.throttled} throttled and retried"),
        {"benchmark": "burst: submissions lost or failed", "measured": submissions - accepted + len(failures),
         "unit": "jobs", "baseline": 0, "ratio": None, "target": "== 0", "met": accepted == submissions and not failures,
         "note": "; ".join(failures[:3])},
    ]  # fmt: skip
