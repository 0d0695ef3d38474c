"""The database at the wire: round trips per state change, state changes per second over a link with latency
(÷ the same single statement through psycopg 3 in autocommit), and keyset pages at a million rows."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from bench.common import Row, row
from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.local.postgres import scratch_database
from trainforge.local.wire import WireProxy
from trainforge.models.changes import JobStateChange
from trainforge.models.status import JOB_STATUS_RANK, TERMINAL_RANK
from trainforge.repository.status.jobs import _APPLY_JOB_STATE
from trainforge.tracking.state_changes import record_state_change

LATENCY_SECONDS = 0.0005  # each way: a Lambda and RDS Proxy in the same region, on a good day


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
    import json

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
        "estimated_cost_usd": None, "attempt": change.attempt, "region": None, "bundled_price": None,
        "pool": change.instance_type, "spot": change.spot, "managed": change.managed,
    }  # fmt: skip


def upstream_of(url: str) -> tuple[str, int] | str:
    parameters = ConnectionParameters.from_url(url)
    return parameters.unix_sock or (parameters.host or "127.0.0.1", parameters.port)


def through(url: str, proxy: WireProxy) -> str:
    p = ConnectionParameters.from_url(url)
    return f"postgresql+pg8000://{p.user}@127.0.0.1:{proxy.port}/{p.database}"


def final_state(url: str) -> tuple[int, int]:
    database = NativeDatabase(lambda: ConnectionParameters.from_url(url))
    (found,) = database.rows(
        "SELECT count(*) AS jobs, count(*) FILTER (WHERE status_rank = 3) AS ended FROM training_jobs"
    )
    database.close()
    return int(found["jobs"]), int(found["ended"])


def handler_path(url: str, changes: list[JobStateChange]) -> tuple[float, int, tuple[int, int]]:
    """As the training_state handler applies them: the process's connection, one unit per change."""
    with WireProxy(upstream_of(url), delay_seconds=LATENCY_SECONDS) as proxy:
        database = NativeDatabase(lambda: ConnectionParameters.from_url(through(url, proxy)))
        database.rows("SELECT 1")
        proxy.reset()
        started = time.perf_counter()
        for change in changes:
            database.run(lambda db, c=change: record_state_change(db, c, record_external=True))  # type: ignore[misc]
        seconds = time.perf_counter() - started
        round_trips = proxy.round_trips
        database.close()
    return seconds, round_trips, final_state(url)


def psycopg_path(url: str, changes: list[JobStateChange]) -> tuple[float, int, tuple[int, int]]:
    """The same statement and parameters through libpq (psycopg 3), autocommit, never prepared by name."""
    import psycopg

    statement = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", _APPLY_JOB_STATE)
    with WireProxy(upstream_of(url), delay_seconds=LATENCY_SECONDS) as proxy:
        p = ConnectionParameters.from_url(url)
        with psycopg.connect(host="127.0.0.1", port=proxy.port, user=p.user, dbname=p.database,
                             autocommit=True, prepare_threshold=None) as connection:  # fmt: skip
            proxy.reset()
            started = time.perf_counter()
            for change in changes:
                connection.execute(statement, bare_parameters(change)).fetchone()
            seconds = time.perf_counter() - started
            round_trips = proxy.round_trips
    return seconds, round_trips, final_state(url)


def events_throughput(server_url: str, count: int) -> list[Row]:
    duplicates = count // 5
    changes = event_stream((count - duplicates) // 5, duplicates, seed=11)
    results = {}
    for name, path in (("handler", handler_path), ("psycopg", psycopg_path)):
        with scratch_database(server_url, f"trainforge_bench_events_{name}") as url:
            from sqlalchemy import create_engine

            from trainforge.schema import upgrade_to_head

            engine = create_engine(url)
            upgrade_to_head(engine)
            engine.dispose()
            results[name] = path(url, changes)
    (handler_seconds, handler_trips, handled), (bare_seconds, bare_trips, bare_state) = (
        results["handler"], results["psycopg"])  # fmt: skip
    expected = ((count - duplicates) // 5,) * 2
    per_event = handler_trips / len(changes)
    return [
        row(f"events: {len(changes)} state changes, {LATENCY_SECONDS * 1000:g} ms each way",
            len(changes) / handler_seconds, len(changes) / bare_seconds, "events/s", ">=", 0.8,
            note=f"baseline: psycopg 3 autocommit, {bare_trips / len(changes):.2f} round trips per event; "
                 f"end states {'equal' if handled == bare_state == expected else f'DIFFER {handled} {bare_state}'}"),
        {"benchmark": "events: round trips per state change (at the wire)", "measured": round(per_event, 3),
         "unit": "round trips", "baseline": 1.0, "ratio": round(per_event, 3), "target": "== 1.0",
         "met": per_event == 1.0 and handled == expected, "note": f"{handler_trips} for {len(changes)} events"},
    ]  # fmt: skip


FILL = """
INSERT INTO training_jobs (job_name, origin, environment, status, status_rank, secondary_status, instance_type,
                           instance_count, created_at, updated_at)
SELECT 'bench-' || i, 'trainforge', 'sagemaker',
       (ARRAY['Completed','Failed','Stopped','InProgress'])[1 + mod(i, 4)],
       CASE WHEN mod(i, 4) = 3 THEN 1 ELSE 3 END, 'Training', 'ml.m5.large', 1,
       now() - make_interval(secs => i), now()
FROM generate_series(1, :rows) AS i
"""


def filled(url: str, rows: int) -> NativeDatabase:
    """A scratch database with ``rows`` jobs, vacuumed and analysed, read through the API's connection."""
    from sqlalchemy import create_engine, text

    from trainforge.schema import upgrade_to_head

    engine = create_engine(url)
    upgrade_to_head(engine)
    with engine.begin() as connection:
        connection.execute(text(FILL), {"rows": rows})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Settle the table first: autovacuum working on a fresh million rows would time itself, not the query.
        connection.execute(text("VACUUM ANALYZE training_jobs"))
    engine.dispose()
    return NativeDatabase(lambda: ConnectionParameters.from_url(url))


def page_queries(database: NativeDatabase) -> dict[str, dict[str, Any]]:
    """The three pages timed: the first, the 101st (by cursor), and a status filter."""
    from trainforge.tracking.queries import jobs_page

    deep = jobs_page(database, limit=50)
    for _ in range(100):  # 100 pages in: the cursor of row 5,000
        deep = jobs_page(database, limit=50, cursor=deep["next_cursor"])
    return {"first page": {}, "page 101 (cursor)": {"cursor": deep["next_cursor"]},
            "status=Failed": {"status": "Failed"}}  # fmt: skip


def listing(server_url: str, small: int, large: int, runs: int) -> list[Row]:
    """Pages at ``large`` rows ÷ at ``small`` rows; the two databases are timed alternately, query by query."""
    from trainforge.tracking.queries import jobs_page

    with (
        scratch_database(server_url, f"trainforge_bench_list_{small}") as small_url,
        scratch_database(server_url, f"trainforge_bench_list_{large}") as large_url,
    ):
        databases = {small: filled(small_url, small), large: filled(large_url, large)}
        queries = {size: page_queries(database) for size, database in databases.items()}

        def page(size: int, name: str) -> float:
            started = time.perf_counter()
            jobs_page(databases[size], limit=50, **queries[size][name])
            return time.perf_counter() - started

        rows = []
        for name in queries[small]:
            for _ in range(5):  # warm both
                page(small, name), page(large, name)
            times: dict[int, list[float]] = {small: [], large: []}
            for _ in range(runs):
                for size in (small, large):
                    times[size].append(page(size, name))
            rows.append(row(f"GET /jobs {name}: {large:,} vs {small:,} rows", median(times[large]) * 1000,
                            median(times[small]) * 1000, "ms", "<=", 1.2))  # fmt: skip
        for database in databases.values():
            database.close()
    return rows
