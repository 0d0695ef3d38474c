"""The tests' clock moves for Python and PostgreSQL alike, so a test that depends on today's date fails when
``make test`` runs the calendar tests at another date."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.clock import Clock, real_now, rebase_times
from trainforge.teams import budgets

ROOT = Path(__file__).resolve().parents[2]

# A test module such as a careless hand writes: this month spelt out, in Python and in SQL.
PLANTED = """
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from tests.clock import DatabaseClock
from trainforge.local.postgres import scratch_database


def test_python_reads_this_month():
    assert datetime.now(UTC).strftime("%Y-%m") == "{month}"


def test_postgresql_reads_this_month():
    with scratch_database("{server}", "planted") as url:
        clock = DatabaseClock(url)
        clock.install()
        engine = create_engine(url)
        with engine.connect() as connection:
            month = connection.execute(text("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')")).scalar()
        engine.dispose()
        clock.close()
    assert month == "{month}"
"""


def run_planted(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.clock", "-p", "no:cacheprovider", *options, str(folder)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_a_planted_calendar_dependency_passes_today_and_fails_with_the_clock_moved(
    postgres_server_url: str, tmp_path: Path
) -> None:
    planted = tmp_path / "test_planted.py"
    planted.write_text(PLANTED.format(month=real_now().strftime("%Y-%m"), server=postgres_server_url))
    today = run_planted(tmp_path)
    assert today.returncode == 0, today.stdout + today.stderr
    report = tmp_path / "moved.xml"
    moved = run_planted(tmp_path, "--clock", "2031-03-31T23:00:00Z", f"--junitxml={report}")
    assert moved.returncode == 1, moved.stdout + moved.stderr
    # Read from the JUnit report, not the terminal: how much of a message the summary prints depends on its width.
    failures = {
        case.get("name"): failure.get("message", "")
        for case in ElementTree.parse(report).getroot().iter("testcase")
        for failure in case.iter("failure")
    }
    assert set(failures) == {"test_python_reads_this_month", "test_postgresql_reads_this_month"}
    assert all("'2031-03' == " in message for message in failures.values())  # each read the moved month


def test_travelling_moves_python_and_postgresql_together(clock: Clock, db: Session) -> None:
    clock.travel(datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC))
    database_now = db.execute(text("SELECT now()")).scalar_one()
    assert abs(database_now - datetime.now(UTC)) < timedelta(seconds=5)
    assert database_now.date().isoformat() in ("2028-02-29", "2028-03-01")
    assert budgets.this_month().isoformat() in ("2028-02-01", "2028-03-01")


def test_event_fixtures_move_with_the_clock_in_their_own_formats() -> None:
    fixture = {
        "time": "2026-11-29T14:10:00Z",
        "detail": {
            "LastModifiedTime": 1795961400000,
            "CreationTime": "1795961400000",
            "additional-information": {"build-start-time": "Nov 29, 2026 2:10:00 PM"},
            "Timestamp": "2026-11-29T14:10:00.000Z",
            "Name": "not a time",
        },
    }
    moved = rebase_times(fixture, timedelta(days=33, hours=10))
    assert moved["time"] == "2027-01-02T00:10:00Z"
    assert moved["detail"]["LastModifiedTime"] == 1795961400000 + (33 * 24 + 10) * 3_600_000
    assert moved["detail"]["CreationTime"] == str(1795961400000 + (33 * 24 + 10) * 3_600_000)
    assert moved["detail"]["additional-information"]["build-start-time"] == "Jan 2, 2027 12:10:00 AM"
    assert moved["detail"]["Timestamp"] == "2027-01-02T00:10:00.000Z"
    assert moved["detail"]["Name"] == "not a time"
