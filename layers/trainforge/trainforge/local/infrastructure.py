"""Start the stand-ins local mode and the tests run on: embedded PostgreSQL and moto's server over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from trainforge.local.hosts import free_port


def embedded_postgres_url(data_dir: str | Path) -> str:
    """Start (or reuse) a PostgreSQL server from the ``pgserver`` package; return a pg8000 URL to it."""
    import pgserver

    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        path, cleanup_mode="stop"
    )
    info = server.get_postmaster_info()
    socket_path = f"{info.socket_dir}/.s.PGSQL.{info.port}"
    _embedded_servers.append(server)  # keep a handle: the server stops when the last one is dropped
    return f"postgresql+pg8000://postgres@/postgres?unix_sock={socket_path}"


_embedded_servers: list[Any] = []


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """These variables for the life of the block, then the previous ones; cached AWS clients are dropped both
    ways, since they captured the old endpoint."""
    from trainforge.aws import reset_clients

    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_clients()
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_clients()


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """``url`` when given (CI's server), else a throwaway embedded server for the life of the block."""
    if url:
        yield url
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="trainforge-pg-") as data_dir:
        yield embedded_postgres_url(data_dir)


@contextmanager
def scratch_database(server_url: str, prefix: str = "trainforge") -> Iterator[str]:
    """A new, empty database on ``server_url``'s server for the life of the block (dropped afterwards)."""
    admin_url = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield render_url(admin_url.set(database=name))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def render_url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


class LocalAws:
    """moto's server on a loopback port; ``environ()`` is what boto3 needs to reach it."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalAws:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns everything else
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def environ(self, region: str = "us-east-1") -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

    def reset(self) -> None:
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass
