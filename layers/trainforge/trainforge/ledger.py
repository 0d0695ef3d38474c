"""The ledger's export and import: every table of the database (jobs, their history and reports, teams, builds,
tuning jobs, the outbox, deliveries) into one archive and back, for a backup a person can hold, a move between
databases, or a restore drill.

The archive is a gzipped tar of one CSV per table and ``manifest.json`` (the schema's revision, each table's row
count). An import goes only into a database whose ledger is empty, at the archive's revision after migrating it
to head: it never merges, and it refuses an archive another version of Trainforge wrote.

    python -m trainforge.ledger export ledger.tar.gz      # DATABASE_URL
    python -m trainforge.ledger import ledger.tar.gz

Deployed, the database is in isolated subnets: run it where the database is reachable, or restore one of AWS
Backup's recovery points instead (docs/deploy.md)."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.dialects import postgresql

from trainforge.models.database import Base
from trainforge.schema import upgrade_to_head

FORMAT = 1


# The statements: the schema's tables, copied out and in with COPY on a DB-API connection of SQLAlchemy's pg8000
# engine, and the sequences that number their rows. (The data layer, as trainforge.schema is: the handlers'
# repository never needs them.)


def ledger_tables() -> list[str]:
    """Every table of the schema, those referred to first (alembic_version is the archive's manifest's)."""
    return [table.name for table in Base.metadata.sorted_tables]


def named(template: str, *identifiers: str) -> str:
    """``template`` with these table or column names, each one of the schema's own and quoted by PostgreSQL's
    dialect. Names cannot be bound parameters; values always are."""
    known = set(ledger_tables()) | {
        column.name for table in Base.metadata.sorted_tables for column in table.columns
    }
    unknown = [name for name in identifiers if name not in known]
    if unknown:
        raise LedgerError(f"not a name of this schema: {', '.join(unknown)}")
    quote = postgresql.dialect().identifier_preparer.quote  # type: ignore[no-untyped-call]
    return template.format(*(quote(name) for name in identifiers))


def copy_out(cursor: Any, table: str, into: IO[bytes]) -> None:
    cursor.execute(named("COPY {} TO STDOUT WITH (FORMAT csv, HEADER true)", table), stream=into)


def copy_in(cursor: Any, table: str, source: IO[bytes]) -> None:
    # The ledger's triggers (the event outbox) fired when these rows were first written: not again.
    cursor.execute(named("ALTER TABLE {} DISABLE TRIGGER USER", table))
    cursor.execute(named("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)", table), stream=source)
    cursor.execute(named("ALTER TABLE {} ENABLE TRIGGER USER", table))


def row_count(cursor: Any, table: str) -> int:
    cursor.execute(named("SELECT count(*) FROM {}", table))
    return int(cursor.fetchone()[0])


def schema_revision(cursor: Any) -> str | None:
    cursor.execute("SELECT version_num FROM alembic_version")
    found = cursor.fetchone()
    return str(found[0]) if found else None


def reset_sequences(cursor: Any) -> int:
    """Each serial or identity column's sequence set past the largest id imported: new rows never collide."""
    cursor.execute(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND (column_default LIKE 'nextval%' OR is_identity = 'YES')"
    )
    found = [(table, column, sequence) for table, column, sequence in cursor.fetchall() if sequence]
    for table, column, sequence in found:
        cursor.execute(named("SELECT setval(%s, COALESCE((SELECT max({}) FROM {}), 0) + 1, false)", column, table),
                       (sequence,))  # fmt: skip
    return len(found)


class LedgerError(Exception):
    """An archive that cannot be imported here, and why."""


class LedgerNotEmptyError(LedgerError):
    """The database already holds a ledger: an import never merges."""


@dataclass(frozen=True)
class LedgerArchive:
    path: Path
    revision: str
    rows: dict[str, int]


def export_ledger(engine: Engine, path: Path) -> LedgerArchive:
    """Every table into ``path``, as one consistent snapshot (a repeatable-read transaction)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        revision = schema_revision(cursor)
        if revision is None:
            raise LedgerError("this database has no Trainforge schema to export")
        rows: dict[str, int] = {}
        with tempfile.TemporaryDirectory() as folder, tarfile.open(path, "w:gz") as archive:
            for table in ledger_tables():
                file = Path(folder) / f"{table}.csv"
                with file.open("wb") as out:
                    copy_out(cursor, table, out)
                rows[table] = row_count(cursor, table)
                archive.add(file, arcname=f"tables/{table}.csv")
            manifest = {"format": FORMAT, "revision": revision, "rows": rows,
                        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        connection.rollback()
    finally:
        connection.close()
    return LedgerArchive(path, revision, rows)


def import_ledger(engine: Engine, path: Path) -> LedgerArchive:
    """``path``'s tables into this database, migrated to head first, whose ledger must be empty; all or nothing."""
    head = upgrade_to_head(engine)
    with tarfile.open(path, "r:gz") as archive:
        manifest = json.loads(_member(archive, "manifest.json"))
        if manifest.get("format") != FORMAT:
            raise LedgerError(f"{path}: not a Trainforge ledger archive of format {FORMAT}")
        if manifest["revision"] != head:
            raise LedgerError(
                f"{path} holds a ledger at schema revision {manifest['revision']}, and this Trainforge is at "
                f"{head}: import it with the Trainforge that exported it, then migrate"
            )
        tables = ledger_tables()
        if set(manifest["rows"]) != set(tables):
            raise LedgerError(f"{path}: its tables are not this schema's")
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            full = [t for t in tables if row_count(cursor, t)]
            if full:
                raise LedgerNotEmptyError(
                    f"the ledger here is not empty ({', '.join(full)}): an import never merges"
                )
            for table in tables:
                copy_in(cursor, table, io.BytesIO(_member(archive, f"tables/{table}.csv")))
                if row_count(cursor, table) != manifest["rows"][table]:
                    raise LedgerError(f"{table}: the archive's rows did not all arrive")
            reset_sequences(cursor)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()
    return LedgerArchive(path, head, dict(manifest["rows"]))


def export_to(database_url: str, path: Path) -> LedgerArchive:
    """:func:`export_ledger` from the database at ``database_url``."""
    return _on(database_url, export_ledger, path)


def import_from(database_url: str, path: Path) -> LedgerArchive:
    """:func:`import_ledger` into the database at ``database_url``."""
    return _on(database_url, import_ledger, path)


def _on(database_url: str, work: Callable[[Engine, Path], LedgerArchive], path: Path) -> LedgerArchive:
    engine = create_engine(database_url)
    try:
        return work(engine, path)
    finally:
        engine.dispose()


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        found = archive.extractfile(name)
    except KeyError:
        found = None
    if found is None:
        raise LedgerError(f"{archive.name!s}: no {name} in the archive")
    return found.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainforge.ledger", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("action", choices=["export", "import"])
    parser.add_argument("archive", type=Path)
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help="default: DATABASE_URL"
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("no database: pass --database-url or set DATABASE_URL")
    try:
        done = (export_to if args.action == "export" else import_from)(args.database_url, args.archive)
    except LedgerError as refused:
        print(f"{args.action} refused: {refused}", file=sys.stderr)
        return 2
    total = sum(done.rows.values())
    verb = "exported to" if args.action == "export" else "imported from"
    print(f"{total} rows in {len(done.rows)} tables {verb} {done.path} (schema revision {done.revision})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
