"""The demo runs in a state of its own, new each time: its folder is emptied (a killed demo's PostgreSQL stopped
first), and with DATABASE_URL set it gets a database of its own on that server, made again each run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from local_mode import demo
from local_mode.environment import LocalModeError, write_state
from local_mode.housekeeping import fresh_database, fresh_folder
from trainforge.local.postgres import EmbeddedPostgres, running_postmaster


def test_with_database_url_the_demo_gets_a_new_database_of_its_own_each_run(postgres_server_url: str) -> None:
    url = fresh_database(postgres_server_url, demo.DEMO_DATABASE)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE left_by_the_last_run (id int)"))
    engine.dispose()
    again = fresh_database(postgres_server_url, demo.DEMO_DATABASE)
    assert again == url
    engine = create_engine(again)
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{demo.DEMO_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def test_the_demos_folder_is_emptied_and_a_server_a_killed_demo_left_is_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    server = EmbeddedPostgres(folder / "postgres")
    server.start()  # as a demo killed with kill -9 leaves it
    (folder / "work").mkdir()
    (folder / "work" / "left.txt").write_text("from the last run")
    pid = running_postmaster(folder / "postgres")
    assert pid is not None
    fresh_folder(folder, print)
    assert not folder.exists() and running_postmaster(folder / "postgres") is None


def test_a_demo_running_in_the_folder_is_not_wiped_under_it(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "local_mode", "demo"])
    try:
        write_state(
            folder, {"pid": running.pid, "api_url": "http://127.0.0.1:1", "aws_url": "http://127.0.0.1:2"}
        )
        with pytest.raises(LocalModeError, match="a demo is already running"):
            fresh_folder(folder, print)
        assert (folder / "local-mode.json").exists()
    finally:
        running.kill()
        running.wait()
