"""Trainforge's benchmarks: each figure a ratio against a baseline measured in the same run (medians of repeated
runs), because these machines are noisy. `make bench` prints the table and writes bench/results.json.

1. cold start of each handler ÷ a bare `import boto3`          (targets: api <= 2.5, event handlers <= 2.0)
2. state-change events/s through the handler path ÷ the bare SQL (target >= 0.5; one write statement per event)
3. GET /jobs page of 50 at 1,000,000 rows ÷ at 10,000 rows      (target <= 1.2)
4. a burst of 300 submissions against a throttling SageMaker    (all accepted, >= 90% of the allowed rate)
5. the layer's and each function's unzipped size                (Lambda's limit: 250 MB)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from trainforge.aws import _SERVICE_CONFIG  # noqa: E402
from trainforge.db import run_in_transaction  # noqa: E402
from trainforge.local.infrastructure import LocalAws, environment, postgres_server, scratch_database  # noqa: E402
from trainforge.local.resources import provision  # noqa: E402
from trainforge.local.throttling import ThrottlingSageMakerEndpoint  # noqa: E402
from trainforge.models.changes import JobStateChange  # noqa: E402
from trainforge.repository import _APPLY_JOB_STATE  # noqa: E402
from trainforge.schema import upgrade_to_head  # noqa: E402
from trainforge.services.job_tracking import record_state_change  # noqa: E402
from trainforge.services.sagemaker_training_service import SageMakerTrainingService  # noqa: E402
from trainforge.services.training_config import TrainingConfig  # noqa: E402
from trainforge.settings import Settings  # noqa: E402

HANDLERS = ("api", "dataset_uploaded", "training_state", "build_state", "reconcile", "migrate")
# SageMaker admits ~1 create/s; the emulator is scaled up to a rate this machine sustains with room to spare.
BURST_RATE = 10.0
HEADROOM = (
    0.95  # as deployed: the workers together pace at 95% of SageMaker's rate, so jitter rarely throttles
)
SAGEMAKER_CONFIG = _SERVICE_CONFIG["sagemaker"]
Row = dict[str, Any]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


# 1 -------------------------------------------------------------------------------------------------------------
# What Lambda's Python runtime sets before init (LAMBDA_TASK_ROOT matters: the X-Ray SDK takes its Lambda path,
# a local sampler, only when it is set), plus the stack's settings.
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "trainforge-bench",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "_HANDLER": "handler.handler",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TRAINFORGE_MODE": "aws",
    "DATABASE_URL": "postgresql+pg8000://bench@127.0.0.1:1/bench",  # never connected: init must not touch it
    "TRAINFORGE_DATASETS_BUCKET": "d",
    "TRAINFORGE_ARTIFACTS_BUCKET": "a",
    "TRAINFORGE_EXECUTION_ROLE_ARN": "arn:aws:iam::111122223333:role/exec",
    "TRAINFORGE_ECR_REPOSITORY_URI": "111122223333.dkr.ecr.us-east-1.amazonaws.com/training",
    "TRAINFORGE_CODEBUILD_PROJECT": "builds",
    "POWERTOOLS_SERVICE_NAME": "trainforge",
    "POWERTOOLS_METRICS_NAMESPACE": "Trainforge",
}
TIMER = "import sys,time;t=time.perf_counter();import {module};sys.stdout.write(repr(time.perf_counter()-t))"


def time_import(module: str, cwd: Path) -> float:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "TRAINFORGE_", "POWERTOOLS_", "DATABASE_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", TIMER.format(module=module)],
        cwd=cwd, env={**env, **LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(cwd)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stdout)


def cold_start(runs: int) -> list[Row]:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "lambdas"), str(ROOT / "layers")], check=True
    )
    baseline = median_of(runs, lambda: time_import("boto3", ROOT))
    rows = []
    for name in HANDLERS:
        seconds = median_of(runs, lambda name=name: time_import("handler", ROOT / "lambdas" / name))  # type: ignore[misc]
        target = 2.5 if name == "api" else 2.0
        rows.append(row(f"cold start: {name}", seconds * 1000, baseline * 1000, "ms", "<=", target))
    return rows


# 2 -------------------------------------------------------------------------------------------------------------
def event_stream(jobs: int, duplicates: int, seed: int) -> list[JobStateChange]:
    """Each job's lifecycle, duplicated here and there, with late arrivals (a slice of it shuffled)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    changes: list[JobStateChange] = []
    for index in range(jobs):
        base = start + timedelta(minutes=index)
        steps = [("InProgress", "Starting"), ("InProgress", "Downloading"), ("InProgress", "Training"),
                 ("InProgress", "Uploading"), (rng.choice(["Completed", "Completed", "Failed", "Stopped"]), None)]  # fmt: skip
        for offset, (status, secondary) in enumerate(steps):
            final = secondary is None
            changes.append(
                JobStateChange(
                    job_name=f"bench-job-{index}", status=status, secondary_status=secondary or status,
                    last_modified_at=base + timedelta(seconds=offset * 30), created_at=base,
                    started_at=base + timedelta(seconds=60), ended_at=base + timedelta(seconds=120) if final else None,
                    instance_type="ml.m5.xlarge", instance_count=1,
                    final_metrics={"validation:accuracy": rng.random()} if final else {},
                    model_artifacts_uri=f"s3://bench/output/bench-job-{index}/model.tar.gz" if final else None,
                    billable_seconds=60 if final else None,
                )
            )  # fmt: skip
    changes += [rng.choice(changes) for _ in range(duplicates)]
    for start_at in range(0, len(changes), 50):  # late arrivals: order scrambled within windows
        window = changes[start_at : start_at + 50]
        rng.shuffle(window)
        changes[start_at : start_at + 50] = window
    return changes


def bare_parameters(change: JobStateChange) -> dict[str, Any]:
    from trainforge.models.status import JOB_STATUS_RANK, TERMINAL_RANK

    rank = JOB_STATUS_RANK[change.status]
    return {
        "job_name": change.job_name, "status": change.status, "rank": rank, "terminal_rank": TERMINAL_RANK,
        "secondary_status": change.secondary_status, "failure_reason": change.failure_reason, "arn": None,
        "instance_type": change.instance_type, "instance_count": change.instance_count, "role_arn": None,
        "image_uri": None, "input_uri": None, "output_uri": None, "created_at": change.created_at,
        "started_at": change.started_at, "ended_at": change.ended_at, "last_modified_at": change.last_modified_at,
        "at": change.last_modified_at, "record_external": True, "terminal": rank == TERMINAL_RANK,
        "final_metrics": json.dumps(change.final_metrics), "model_artifacts_uri": change.model_artifacts_uri,
        "billable_seconds": change.billable_seconds, "training_seconds": change.training_seconds,
        "estimated_cost_usd": None,
    }  # fmt: skip


def events_throughput(server_url: str, count: int) -> list[Row]:
    duplicates = count // 5
    changes = event_stream((count - duplicates) // 5, duplicates, seed=11)
    with scratch_database(server_url, "trainforge_bench_events") as url:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        upgrade_to_head(engine)
        statements = {"all": 0, "writes": 0}

        @event.listens_for(engine, "before_cursor_execute")
        def count_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements["all"] += 1
            head = statement.lstrip().split(None, 1)[0].upper()
            statements["writes"] += head in ("INSERT", "UPDATE", "DELETE", "WITH")

        sessions = sessionmaker(engine)
        started = time.perf_counter()
        for change in changes:
            run_in_transaction(
                sessions, lambda db, c=change: record_state_change(db, c, record_external=True)
            )  # type: ignore[misc]
        handler_seconds = time.perf_counter() - started
        with engine.connect() as connection:
            handled = connection.execute(
                text("SELECT count(*), count(*) FILTER (WHERE status_rank = 3) FROM training_jobs")
            ).one()
        engine.dispose()
    with scratch_database(server_url, "trainforge_bench_bare") as url:
        engine = create_engine(url)
        upgrade_to_head(engine)
        # The exact SQL and parameter order SQLAlchemy sends, issued through the same pg8000 DB-API connection.
        compiled = _APPLY_JOB_STATE.compile(dialect=engine.dialect)
        order = compiled.positiontup or []
        raw = engine.raw_connection()
        cursor = raw.cursor()
        started = time.perf_counter()
        for change in changes:
            params = bare_parameters(change)
            cursor.execute(compiled.string, tuple(params[name] for name in order))
            raw.commit()
        bare_seconds = time.perf_counter() - started
        raw.close()
        engine.dispose()
    handler_rate, bare_rate = len(changes) / handler_seconds, len(changes) / bare_seconds
    per_event = statements["writes"] / len(changes)
    assert handled[0] == handled[1] == (count - duplicates) // 5, handled
    return [
        row(f"events: {len(changes)} state changes", handler_rate, bare_rate, "events/s", ">=", 0.5),
        {
            "benchmark": "events: write statements per event",
            "measured": round(per_event, 3),
            "unit": "statements",
            "baseline": 1.0,
            "ratio": round(per_event, 3),
            "target": "== 1.0",
            "met": per_event == 1.0,
            "note": f"{statements['all'] / len(changes):.2f} statements per event in all",
        },
    ]


# 3 -------------------------------------------------------------------------------------------------------------
FILL = """
INSERT INTO training_jobs (job_name, origin, environment, status, status_rank, secondary_status, instance_type,
                           instance_count, created_at, updated_at)
SELECT 'bench-' || i, 'trainforge', 'sagemaker',
       (ARRAY['Completed','Failed','Stopped','InProgress'])[1 + mod(i, 4)],
       CASE WHEN mod(i, 4) = 3 THEN 1 ELSE 3 END, 'Training', 'ml.m5.large', 1,
       now() - make_interval(secs => i), now()
FROM generate_series(1, :rows) AS i
"""


def page_timings(url: str, rows: int, runs: int) -> dict[str, float]:
    engine = create_engine(url)
    upgrade_to_head(engine)
    with engine.begin() as connection:
        connection.execute(text(FILL), {"rows": rows})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Settle the table first: autovacuum working on a fresh million rows would time itself, not the query.
        connection.execute(text("VACUUM ANALYZE training_jobs"))
    service = SageMakerTrainingService(Settings.from_env({"DATABASE_URL": url}))
    with Session(engine) as db:
        deep = service.list_training_jobs_page(db, limit=50)
        for _ in range(100):  # 100 pages in: the cursor of row 5,000
            deep = service.list_training_jobs_page(db, limit=50, cursor=deep["next_cursor"])
        cursor = deep["next_cursor"]

        def page(**kwargs: Any) -> float:
            started = time.perf_counter()
            service.list_training_jobs_page(db, limit=50, **kwargs)
            db.rollback()
            return time.perf_counter() - started

        for _ in range(5):
            page()
        timings = {
            "first page": median_of(runs, page),
            "page 101 (cursor)": median_of(runs, lambda: page(cursor=cursor)),
            "status=Failed": median_of(runs, lambda: page(status="Failed")),
        }
    engine.dispose()
    return timings


def listing(server_url: str, small: int, large: int, runs: int) -> list[Row]:
    timings: dict[int, dict[str, float]] = {}
    for rows in (small, large):
        with scratch_database(server_url, f"trainforge_bench_list_{rows}") as url:
            timings[rows] = page_timings(url, rows, runs)
    return [
        row(f"GET /jobs {name}: {large:,} vs {small:,} rows", timings[large][name] * 1000, timings[small][name] * 1000,
            "ms", "<=", 1.2)
        for name in timings[small]
    ]  # fmt: skip


# 4 -------------------------------------------------------------------------------------------------------------
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


# 5 -------------------------------------------------------------------------------------------------------------
def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def package_sizes() -> list[Row]:
    from stacks.layer_build import build

    layer = build()
    limit = 250 * 1024 * 1024
    layer_bytes = size_of(layer / "python")
    rows = [row("package: layer (unzipped)", layer_bytes / 1e6, limit / 1e6, "MB", "<=", 1.0)]
    for name in HANDLERS:
        code = size_of(ROOT / "lambdas" / name)
        rows.append(
            row(f"package: {name} function + layer", (code + layer_bytes) / 1e6, limit / 1e6, "MB", "<=", 1.0)
        )
    return rows


def row(
    name: str, measured: float, baseline: float, unit: str, op: str, target: float, note: str = ""
) -> Row:
    ratio = measured / baseline if baseline else float("inf")
    met = ratio <= target if op == "<=" else ratio >= target
    return {"benchmark": name, "measured": round(measured, 3), "unit": unit, "baseline": round(baseline, 3),
            "ratio": round(ratio, 3), "target": f"{op} {target}", "met": met, "note": note}  # fmt: skip


def print_table(rows: list[Row]) -> None:
    headers = ["benchmark", "measured", "unit", "baseline", "ratio", "target", "met"]
    cells = [
        [str(r.get(h, "")) if h != "met" else ("yes" if r["met"] else "NO") for h in headers] for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for cell in cells:
        print(" | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)))
    for r in rows:
        if r.get("note"):
            print(f"  {r['benchmark']}: {r['note']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", choices=["cold", "events", "listing", "burst", "package"])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    chosen = set(args.only or ["cold", "events", "listing", "burst", "package"])
    quick = args.quick
    rows: list[Row] = []
    with postgres_server(os.environ.get("DATABASE_URL")) as server:
        if "cold" in chosen:
            rows += cold_start(runs=3 if quick else 7)
        if "events" in chosen:
            rows += events_throughput(server, 1000 if quick else 5000)
        if "listing" in chosen:
            rows += listing(server, 10_000, 100_000 if quick else 1_000_000, runs=15 if quick else 41)
        if "burst" in chosen:
            rows += submission_burst(server, 60 if quick else 300, rate=BURST_RATE, workers=2)
        if "package" in chosen:
            rows += package_sizes()
    print_table(rows)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "system": platform.platform(), "when": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    args.json.write_text(json.dumps({"machine": machine, "quick": quick, "results": rows}, indent=2))
    print(f"\nwritten: {args.json}")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
