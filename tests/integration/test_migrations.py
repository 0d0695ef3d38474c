from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect

from trainforge.local.postgres import scratch_database
from trainforge.models.database import Base

ROOT = Path(__file__).resolve().parents[2]


def test_the_models_and_the_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert differences == []


def test_alembic_upgrade_head_from_the_repository_root_builds_the_schema(postgres_server_url: str) -> None:
    with scratch_database(postgres_server_url, "trainforge_cli") as url:
        result = subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, "TRAINFORGE_MODE": "local"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        fresh = create_engine(url)
        tables = set(inspect(fresh).get_table_names())
        fresh.dispose()
    assert {"training_jobs", "training_job_status_history", "training_reports", "container_builds"} <= tables
