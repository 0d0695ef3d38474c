"""The handlers' connection, watched at the wire: one round trip per state change, a failover healed by one
retry, a server error that leaves the connection usable, a driver failure that drops it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pg8000.exceptions import DatabaseError
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.conftest import load_event
from trainforge import repository
from trainforge.connection import ConnectionParameters, NativeDatabase, sqlstate
from trainforge.local.wire import WireProxy
from trainforge.models.changes import JobStateChange
from trainforge.tracking.state_changes import record_state_change, state_change_from_description


@pytest.fixture
def wire(database_url: str) -> Iterator[tuple[WireProxy, NativeDatabase]]:
    url = make_url(database_url)
    socket_path = url.query.get("unix_sock")
    upstream: tuple[str, int] | str = (
        socket_path if isinstance(socket_path, str) else (url.host or "127.0.0.1", url.port or 5432)
    )
    proxy = WireProxy(upstream)
    through = url.set(host="127.0.0.1", port=proxy.port, query={})
    database = NativeDatabase(
        lambda: ConnectionParameters.from_url(through.render_as_string(hide_password=False))
    )
    database.rows("SELECT 1")  # connected and authenticated: from here on, only statements cross the wire
    proxy.reset()
    yield proxy, database
    database.close()
    proxy.close()


def in_progress(name: str = "wire-job", secondary: str = "Training") -> JobStateChange:
    detail = copy.deepcopy(load_event("sagemaker_training_in_progress.json")["detail"])
    detail.update(TrainingJobName=name, SecondaryStatus=secondary)
    return state_change_from_description(detail)


def test_a_state_change_is_one_round_trip(wire: tuple[WireProxy, NativeDatabase], db: Any) -> None:
    proxy, database = wire
    outcome = record_state_change(database, in_progress(), record_external=True)
    assert outcome.applied and proxy.round_trips == 1
    proxy.reset()
    again = record_state_change(database, in_progress(), record_external=True)
    assert not again.applied and proxy.round_trips == 1, "a duplicate costs the same single statement"
    proxy.reset()
    completed = state_change_from_description(
        {**load_event("sagemaker_training_completed.json")["detail"], "TrainingJobName": "wire-job"}
    )
    assert record_state_change(database, completed, record_external=True).applied
    assert proxy.round_trips == 1, "the terminal change writes job, history and report in one statement"
    assert db.execute(text("SELECT count(*) FROM training_reports")).scalar() == 1


def test_reading_a_job_back_is_one_round_trip_per_statement(
    wire: tuple[WireProxy, NativeDatabase], db: Any
) -> None:
    proxy, database = wire
    job_id = record_state_change(database, in_progress(), record_external=True).job_id
    proxy.reset()
    assert repository.get_job(database, job_id) is not None
    assert proxy.round_trips == 1
    proxy.reset()
    page, _ = repository.list_jobs(database, repository.JobFilters(), limit=10)
    assert len(page) == 1 and proxy.round_trips == 1


def test_a_terminated_backend_is_replaced_and_the_unit_runs_once_more(
    database: NativeDatabase, engine: Engine
) -> None:
    (pid,) = database.rows("SELECT pg_backend_pid() AS pid")
    with engine.begin() as connection:  # what a failover or an RDS Proxy recycle looks like from here
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid["pid"]})
    (row,) = database.run(lambda db: db.rows("SELECT pg_backend_pid() AS pid"))
    assert row["pid"] != pid["pid"]


def test_a_statement_error_leaves_the_connection_usable(database: NativeDatabase) -> None:
    (before,) = database.rows("SELECT pg_backend_pid() AS pid")
    with pytest.raises(DatabaseError) as raised:
        database.rows("SELECT CAST(:n AS integer) / 0 AS x", {"n": 1})
    assert sqlstate(raised.value) == "22012"
    assert database.rows("SELECT pg_backend_pid() AS pid") == [before]


def test_a_nul_in_text_is_refused_by_the_server_and_the_connection_stays(database: NativeDatabase) -> None:
    (before,) = database.rows("SELECT pg_backend_pid() AS pid")
    with pytest.raises(DatabaseError):
        database.rows("SELECT CAST(:s AS text) AS s", {"s": "nul\x00byte"})
    assert database.rows("SELECT pg_backend_pid() AS pid") == [before]


def test_a_driver_failure_drops_the_connection_and_the_next_statement_reconnects(
    database: NativeDatabase,
) -> None:
    (before,) = database.rows("SELECT pg_backend_pid() AS pid")
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate has no UTF-8 form
        database.rows("SELECT CAST(:s AS text) AS s", {"s": "lone \ud800 surrogate"})
    (after,) = database.rows("SELECT pg_backend_pid() AS pid")
    assert after != before, "the protocol state was unknown: the connection must not be reused"


def test_a_transaction_is_all_or_nothing(database: NativeDatabase, db: Any) -> None:
    with pytest.raises(DatabaseError), database.transaction():
        database.rows(
            "INSERT INTO container_builds (build_id, project_name, status, status_rank) VALUES ('b', 'p', 'x', 0)"
        )
        database.rows("SELECT 1 / 0")
    assert db.execute(text("SELECT count(*) FROM container_builds")).scalar() == 0
    assert database.rows("SELECT 1 AS one") == [{"one": 1}]
