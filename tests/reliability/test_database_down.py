"""PostgreSQL goes away in the middle of a stream: records fail (so SQS delivers them again), nothing is half
written; once it is back, redelivery completes everything, nothing lost and nothing applied twice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.conftest import truncate_all
from tests.lambda_support import invoke, sqs_batch
from tests.reliability.conftest import drop_dataset, lifecycle, snapshot
from tests.reliability.support import DatabaseCutter


@pytest.fixture
def cutter(database_url: str) -> Iterator[DatabaseCutter]:
    url = make_url(database_url)
    socket_path = url.query.get("unix_sock")
    upstream: tuple[str, int] | str = (
        socket_path if isinstance(socket_path, str) else (url.host or "127.0.0.1", url.port or 5432)
    )
    proxy = DatabaseCutter(upstream)
    yield proxy
    proxy.close()


def through(cutter: DatabaseCutter, database_url: str) -> str:
    url = make_url(database_url)
    url = url.set(
        host="127.0.0.1", port=cutter.port, query={k: v for k, v in url.query.items() if k != "unix_sock"}
    )
    return url.render_as_string(hide_password=False)


def test_a_database_outage_loses_nothing_and_applies_nothing_twice(
    handlers: Any, engine: Engine, cutter: DatabaseCutter, database_url: str
) -> None:
    drops, changes = [], []
    for index in range(4):
        drop, job = drop_dataset(f"outage-{index}")
        drops.append(drop)
        changes += lifecycle(job, "Completed", index)
    # The run that never saw an outage.
    baseline = {name: handlers(name) for name in ("submissions", "training_state")}
    invoke(baseline["submissions"], sqs_batch(*drops))
    invoke(baseline["training_state"], sqs_batch(*changes))
    expected = snapshot(engine)
    truncate_all(engine)

    os.environ.update({"DATABASE_URL": through(cutter, database_url), "DATABASE_TIMEOUT_SECONDS": "2"})
    try:
        flaky = {name: handlers(name) for name in ("submissions", "training_state")}
    finally:
        os.environ["DATABASE_URL"] = database_url
        os.environ.pop("DATABASE_TIMEOUT_SECONDS")
    invoke(flaky["submissions"], sqs_batch(*drops))
    first, rest = changes[:6], changes[6:]
    assert invoke(flaky["training_state"], sqs_batch(*first)) == {"batchItemFailures": []}

    cutter.cut()
    batch = sqs_batch(*rest)
    failed = invoke(flaky["training_state"], batch)["batchItemFailures"]
    assert len(failed) == len(rest), "every record must fail while the database is down"
    partial = snapshot(engine)  # read directly, not through the cut proxy
    # 4 jobs x (Pending, Starting) at submission, then job 0's Downloading, Training, Completed and job 1's
    # Downloading from `first`: nothing of `rest`, and no half-applied change (a row without its history).
    assert sum(len(job["history"]) for job in partial.values()) == 8 + 4
    assert [job["status"] for job in partial.values()].count("Completed") == 1

    cutter.restore()
    by_id = {r["messageId"]: r for r in batch["Records"]}
    redelivered = {"Records": [by_id[f["itemIdentifier"]] for f in failed]}
    assert invoke(flaky["training_state"], redelivered) == {"batchItemFailures": []}
    assert invoke(flaky["training_state"], sqs_batch(*changes)) == {
        "batchItemFailures": []
    }  # and again: no change
    assert snapshot(engine) == expected
