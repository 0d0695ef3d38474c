"""Schema migrations: Alembic's ``upgrade head`` on a given engine, serialised by an advisory lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, text

if TYPE_CHECKING:
    from alembic.config import Config

# Two deploys (or two local runs) migrating at once would race on DDL: one waits for the other.
MIGRATION_LOCK_ID = 7_311_002


def alembic_config() -> Config:
    # Alembic and SQLAlchemy's engine only when migrating
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "trainforge:migrations")
    return config


def upgrade_to_head(engine: Engine) -> str:
    """Bring the schema to the newest revision; return that revision."""
    # Alembic and SQLAlchemy's engine only when migrating
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return str(ScriptDirectory.from_config(config).get_current_head())


def upgrade_database(database_url: str) -> str:
    """:func:`upgrade_to_head` on the database at ``database_url`` (local mode, the tests' databases)."""
    # Alembic and SQLAlchemy's engine only when migrating
    from trainforge.db import mark_failovers_as_disconnects

    engine = create_engine(database_url)
    mark_failovers_as_disconnects(engine)
    try:
        return upgrade_to_head(engine)
    finally:
        engine.dispose()
