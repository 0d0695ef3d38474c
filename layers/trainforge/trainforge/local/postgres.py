"""PostgreSQL for local mode and the tests: an embedded server from the ``pgserver`` package, started and stopped
by local mode itself, and scratch databases on any server.

pgserver stops a server at interpreter exit only when no other process ever held it: a local mode killed with
``kill -9`` leaves its pid in the data folder's handle list, and every later run then leaves the server running.
And a process ended by SIGTERM or SIGHUP runs no exit hooks at all. So the handle is taken with pgserver's
clean-up off, and :meth:`EmbeddedPostgres.stop` stops the server with ``pg_ctl`` (fast shutdown: sessions are
ended, the data kept), which removes ``postmaster.pid``. A server left running by a killed run is reused by the
next start and stopped by its stop.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from trainforge.connection import ConnectionParameters, NativeDatabase
from trainforge.local.discovery import alive

STOP_SECONDS = 30


def _system_user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as this user under root


def running_postmaster(data_dir: Path) -> int | None:
    """The pid of the server running on ``data_dir`` (its ``postmaster.pid`` names a live process), or None."""
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None  # alive also as another user (pgserver's)


def stop_server(data_dir: Path) -> bool:
    """Stop the server running on ``data_dir``, if one is; True when one was stopped."""
    if running_postmaster(data_dir) is None:
        return False
    # pgserver only to start an embedded server
    from pgserver import _commands

    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - made at import, one function per binary: mypy cannot see it
    try:
        pg_ctl(["-w", "-t", str(STOP_SECONDS), "-m", "fast", "stop"], pgdata=data_dir, user=_system_user())
    except subprocess.CalledProcessError:
        if running_postmaster(data_dir) is not None:  # not already gone: say so rather than leave it silently
            raise
    return True


class EmbeddedPostgres:
    """One server on ``data_dir`` (created on first use); ``start`` answers a pg8000 URL to its socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: Any = None

    def start(self) -> str:
        # pgserver only to start an embedded server
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
        info = self._server.get_postmaster_info()
        return f"postgresql+pg8000://postgres@/postgres?unix_sock={info.socket_dir}/.s.PGSQL.{info.port}"

    @property
    def pid(self) -> int | None:
        return running_postmaster(self.data_dir)

    def stop(self) -> None:
        stop_server(self.data_dir)
        self._server = None


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """``url`` when given (CI's server), else a throwaway embedded server for the life of the block."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="trainforge-pg-") as data_dir:
        server = EmbeddedPostgres(Path(data_dir) / "data")
        try:
            yield server.start()
        finally:
            server.stop()  # before its folder goes: a server whose files are deleted under it runs on


def with_database(server_url: str, name: str) -> str:
    """``server_url`` naming database ``name`` instead (the host, the socket and the user kept)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{quote(name)}"))


# CREATE and DROP DATABASE wait for a checkpoint: on a busy disk that takes longer than a statement's usual timeout.
ADMIN_TIMEOUT_SECONDS = 120.0


def recreate_database(server_url: str, name: str) -> str:
    """Database ``name`` on ``server_url``'s server, dropped (its sessions ended) and made again, empty; its URL."""
    admin = NativeDatabase(lambda: ConnectionParameters.from_url(server_url, timeout=ADMIN_TIMEOUT_SECONDS))
    try:
        admin.rows(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.rows(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    admin = NativeDatabase(lambda: ConnectionParameters.from_url(server_url, timeout=ADMIN_TIMEOUT_SECONDS))
    try:
        admin.rows(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def _drop_quietly(server_url: str, name: str) -> None:
    # a server stopped first (the suite's embedded one, at the session's end) took the database with it
    with suppress(Exception):
        drop_database(server_url, name)


@contextmanager
def scratch_database(
    server_url: str, prefix: str = "trainforge", *, drop_later: bool = False
) -> Iterator[str]:
    """A new, empty database on ``server_url``'s server for the life of the block (dropped afterwards).
    ``drop_later``: the drop (which waits for a checkpoint) runs in a thread the process waits for at its exit, so
    the caller goes on at once (the test suites' fixtures)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = recreate_database(server_url, name)
    try:
        yield url
    finally:
        if drop_later:
            threading.Thread(target=_drop_quietly, args=(server_url, name), name=f"drop {name}").start()
        else:
            drop_database(server_url, name)
