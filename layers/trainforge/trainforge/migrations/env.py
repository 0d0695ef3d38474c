"""Alembic environment: the URL comes from the caller's connection or from Trainforge's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from trainforge.models.database import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    # read when Alembic runs the migrations, not when the module is listed
    from trainforge.db import create_database_engine
    from trainforge.settings import Settings

    engine = create_database_engine(Settings.from_env())
    with engine.connect() as fresh:
        run_migrations(fresh)
        fresh.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: set DATABASE_URL and run `alembic upgrade head`")
run()
