"""One clock for the tests, movable to any date: Python's (time-machine) and PostgreSQL's ``now()`` together.

- Every test marked ``calendar`` runs twice in ``make test``: today, and with both clocks an hour before a year
  ends (:data:`CALENDAR_MOMENTS`; ids ``[today]`` and ``[2027-12-31T23:00:00Z]``).
- ``pytest --clock 2027-01-31T23:59:30Z`` runs a whole session at that moment (the clock ticks on from there).
- The ``clock`` fixture moves both clocks inside one test (``clock.travel(moment)``).
- PostgreSQL: the test database gets a ``public.now()`` that adds a shift kept in ``test_clock.shift`` to
  ``pg_catalog.now()``; its ``search_path`` lists ``pg_catalog`` after ``public``, so every unqualified ``now()``
  the statements (and the migrations' column defaults) call is this one. Production code is untouched.
- Event fixtures keep AWS's shape and formats but have their times moved next to the clock's now
  (:func:`rebase_times`), so no test depends on the day the fixtures were written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_INSTALL = (
    "CREATE SCHEMA IF NOT EXISTS test_clock",
    "CREATE TABLE IF NOT EXISTS test_clock.shift (seconds double precision NOT NULL)",
    "INSERT INTO test_clock.shift SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM test_clock.shift)",
    "CREATE OR REPLACE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS "
    "$$ SELECT pg_catalog.now() + make_interval(secs => (SELECT seconds FROM test_clock.shift LIMIT 1)) $$",
)


def real_now() -> datetime:
    """The machine's own time, whatever the tests' clock says."""
    if not time_machine.escape_hatch.is_travelling():
        return datetime.now(UTC)
    return datetime.fromtimestamp(time_machine.escape_hatch.time.time(), UTC)


def parse_moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class DatabaseClock:
    """PostgreSQL's ``now()`` in one database, shifted to agree with Python's clock."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=1)

    def install(self) -> None:
        """Before anything else connects: new connections take the database's ``search_path``."""
        name = make_url(str(self.engine.url)).database
        with self.engine.connect() as connection:
            for statement in _INSTALL:
                connection.execute(text(statement))
            connection.execute(text(f'ALTER DATABASE "{name}" SET search_path = "$user", public, pg_catalog'))
        self.follow_python()

    def follow_python(self) -> None:
        """Shift PostgreSQL's clock by as much as Python's is moved from the machine's."""
        shift = (datetime.now(UTC) - real_now()).total_seconds()
        with self.engine.connect() as connection:
            connection.execute(text("UPDATE test_clock.shift SET seconds = :s"), {"s": shift})

    def close(self) -> None:
        self.engine.dispose()


class Clock:
    """``travel(moment)``: both clocks jump to ``moment`` and tick on; undone at the end of the test."""

    def __init__(self, database: DatabaseClock | None) -> None:
        self.database = database
        self._travels: list[Any] = []

    def travel(self, moment: datetime) -> None:
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        self._travels.append(traveller)
        if self.database is not None:
            self.database.follow_python()

    def undo(self) -> None:
        while self._travels:
            self._travels.pop().stop()
        if self.database is not None:
            self.database.follow_python()


# -- event fixtures ------------------------------------------------------------------------------------------

# The newest moment in tests/events (the tuning fixture's end): every fixture moves by the same amount, so their
# order and spacing stay as written.
FIXTURES_NEWEST = datetime(2026, 11, 29, 14, 10, tzinfo=UTC)
_TIME_KEYS = frozenset(
    {
        "time", "Time", "eventTime", "CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime",
        "StartTime", "EndTime", "Timestamp", "HyperParameterTuningEndTime", "start-time", "end-time",
        "build-start-time",
    }
)  # fmt: skip
_CODEBUILD_TIME = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$")
_basis: dict[str, Any] = {}  # the clock's reading when the shift was worked out, and the shift


def fixture_shift() -> timedelta:
    """How far the fixtures move: their newest moment lands an hour before now, on a whole minute. Kept while
    the clock runs on (two loads in one test give the same times: a duplicate stays a duplicate), and
    worked out again when the clock has been moved."""
    now = datetime.now(UTC)
    if not _basis or abs(now - _basis["read"]) > timedelta(hours=6):
        _basis.update(
            read=now, shift=(now - timedelta(hours=1)).replace(second=0, microsecond=0) - FIXTURES_NEWEST
        )
    shift: timedelta = _basis["shift"]
    return shift


def moved_millis(epoch_millis: int) -> int:
    """A moment written in a test as SageMaker's epoch milliseconds, moved as the fixtures are (CloudWatch Logs
    refuses events older than 14 days: a written-down date would stop working two weeks later)."""
    return epoch_millis + int(fixture_shift().total_seconds() * 1000)


def _shift_value(value: Any, shift: timedelta) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    millis = int(shift.total_seconds() * 1000)
    if isinstance(value, int | float):  # epoch milliseconds, as SageMaker's events carry them
        return type(value)(value + millis)
    if not isinstance(value, str):
        return value
    if value.isdigit():  # epoch milliseconds as a string (the documentation's own example)
        return str(int(value) + millis)
    if _CODEBUILD_TIME.match(value):  # CodeBuild's locale string, no time zone
        moved = datetime.strptime(value, "%b %d, %Y %I:%M:%S %p") + shift
        return f"{moved:%b} {moved.day}, {moved.year} {int(moved.strftime('%I'))}:{moved:%M:%S %p}"
    try:
        moment = parse_moment(value)
    except ValueError:
        return value
    moved = moment + shift
    if value.endswith("Z"):
        fraction = "." + value.rsplit(".", 1)[1][:-1] if "." in value else ""
        stamp = moved.strftime("%Y-%m-%dT%H:%M:%S")
        return stamp + (f".{moved.microsecond // 1000:03d}" if fraction else "") + "Z"
    return moved.isoformat()


def rebase_times(payload: Any, shift: timedelta | None = None) -> Any:
    """The payload with every time field moved by ``shift`` (default :func:`fixture_shift`), in its own format."""
    shift = fixture_shift() if shift is None else shift
    if isinstance(payload, dict):
        return {
            key: _shift_value(value, shift)
            if key in _TIME_KEYS and not isinstance(value, dict | list)
            else rebase_times(value, shift)
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [rebase_times(item, shift) for item in payload]
    return payload


# -- pytest wiring -------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        default=None,
        help="run the session with both clocks (Python's and PostgreSQL's) at this ISO moment, ticking on",
    )


# The other dates every calendar test also runs at: the last hour of a month, which is also a year's.
CALENDAR_MOMENTS = ("2027-12-31T23:00:00Z",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "calendar: depends on dates (months, days, ages): runs today and at CALENDAR_MOMENTS"
    )
    moment = config.getoption("--clock")
    if moment:
        traveller = time_machine.travel(parse_moment(moment), tick=True)
        traveller.start()
        config.stash[_SESSION_TRAVEL] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_SESSION_TRAVEL, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = config.getoption("--clock")
    return f"clock: moved to {moment} (Python and PostgreSQL)" if moment else None


_SESSION_TRAVEL = pytest.StashKey[Any]()


DATABASE_CLOCK = pytest.StashKey[DatabaseClock]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("calendar") and not metafunc.config.getoption("--clock"):
        metafunc.parametrize("calendar_moment", ["today", *CALENDAR_MOMENTS], indirect=True)


@pytest.fixture(autouse=True)
def calendar_moment(request: pytest.FixtureRequest) -> str:
    """A calendar test's date: today, or one of :data:`CALENDAR_MOMENTS` (both clocks moved before the test's
    other fixtures are made, and back after it)."""
    moment = str(getattr(request, "param", "today"))
    if moment != "today":
        request.getfixturevalue("clock").travel(parse_moment(moment))
    return moment


@pytest.fixture
def clock(request: pytest.FixtureRequest, database_url: str) -> Iterator[Clock]:
    """Both clocks, movable in this test (the test database's, installed with it by ``database_url``)."""
    moving = Clock(request.config.stash[DATABASE_CLOCK])
    yield moving
    moving.undo()
