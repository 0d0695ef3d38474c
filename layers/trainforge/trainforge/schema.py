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
    """Bring the schema to this code's newest revision; return the revision the database is at.

    A database at a revision this code does not know was migrated by a newer release: a deploy that rolled back
    after migrating. Migrations only expand (docs/deploy.md), so this code runs on that schema as it is: it is
    left alone (Alembic would refuse with "Can't locate revision", and CloudFormation's rollback would fail)."""
    # Alembic and SQLAlchemy's engine only when migrating
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config()
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in known:
            return current
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return str(scripts.get_current_head())


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
