from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from trainforge.db import is_failover_error, mark_failovers_as_disconnects, run_in_transaction


def test_a_terminated_connection_is_retried_once_on_a_fresh_one(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    mark_failovers_as_disconnects(engine)
    sessions = sessionmaker(engine)
    victim_pids: list[int] = []

    def work(session: Session) -> int:
        pid = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        if not victim_pids:
            victim_pids.append(pid)
            # As a failover does: the server ends this backend (SQLSTATE 57P01) mid-transaction.
            killer = create_engine(database_url)
            with killer.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.dispose()
            session.execute(text("SELECT 1"))
        return pid

    pid = run_in_transaction(sessions, work)
    assert victim_pids and pid != victim_pids[0]
    engine.dispose()


def test_failover_sqlstates_count_as_disconnects() -> None:
    assert is_failover_error(Exception({"C": "57P01", "M": "terminating connection"}))
    assert is_failover_error(Exception({"C": "08006"}))
    assert is_failover_error(Exception({"C": "25006"}))
    assert not is_failover_error(Exception({"C": "23505"}))
    assert not is_failover_error(ValueError("x"))


def test_a_parameter_the_driver_cannot_encode_does_not_poison_the_pooled_connection(
    database_url: str,
) -> None:
    from datetime import datetime

    import pytest

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    mark_failovers_as_disconnects(engine)
    out_of_range = datetime.fromisoformat("0001-01-01T00:00:00+00:05")  # no UTC equivalent
    with engine.connect() as connection, pytest.raises(OverflowError):
        connection.execute(text("SELECT CAST(:t AS timestamptz)"), {"t": out_of_range})
    with engine.connect() as connection:  # the same pool slot, now a fresh connection
        assert connection.execute(text("SELECT 41 + 1")).scalar_one() == 42
    engine.dispose()
