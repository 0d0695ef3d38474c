"""SQLAlchemy's engine and sessions (the contract's ``Session``-taking methods, migrations, local tools), and the
adapter that lets the data-access module's statements run on a ``Session`` as they run on the handlers'
connection (:mod:`trainforge.connection`).

- The URL comes from ``DATABASE_URL`` or, in AWS, from the Secrets Manager secret RDS writes.
- In AWS the connection uses TLS that verifies the server: pg8000's default context silently falls back to
  plaintext, so an explicit ``ssl.SSLContext`` is always passed (RDS Proxy presents an Amazon Trust Services
  certificate, verified against Amazon's roots; ``DATABASE_CA_BUNDLE`` points at another bundle).
- A socket timeout bounds every wait, so a paused or failing-over Aurora cannot hang a function.
- A failover (SQLSTATE 08xxx, 57P01, 25006), or the driver failing mid-call, counts as a disconnect: the pool
  drops the connection and
  :func:`run_in_transaction` runs the whole unit once more on a fresh one. Nothing is half-applied because a
  unit is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from trainforge.aws import client
from trainforge.connection import ConnectionParameters, is_connection_lost, is_failover_error, tls_context
from trainforge.settings import Settings

T = TypeVar("T")


def url_from_secret(secret: dict[str, Any], host: str | None = None) -> URL:
    """A SQLAlchemy URL for the JSON secret RDS writes (see :meth:`ConnectionParameters.from_secret`)."""
    p = ConnectionParameters.from_secret(secret, host)
    return URL.create(
        "postgresql+pg8000",
        username=p.user,
        password=p.password,
        host=p.host,
        port=p.port,
        database=p.database,
    )


def resolve_url(settings: Settings, secrets_client: Any | None = None) -> URL:
    if settings.database_url:
        return make_url(settings.database_url)
    if settings.database_secret_arn:
        if secrets_client is None:
            secrets_client = client("secretsmanager", settings.region)
        value = secrets_client.get_secret_value(SecretId=settings.database_secret_arn)["SecretString"]
        return url_from_secret(json.loads(value), settings.database_host)
    raise ValueError("DATABASE_URL or DATABASE_SECRET_ARN must be set")


def create_database_engine(
    settings: Settings, *, secrets_client: Any | None = None, pool_size: int = 1
) -> Engine:
    """The engine for this process. In Lambda one connection per container bounds the database's load."""
    url = resolve_url(settings, secrets_client)
    connect_args: dict[str, Any] = {"timeout": settings.database_timeout_seconds}
    if settings.mode == "aws" and url.query.get("unix_sock") is None:
        connect_args["ssl_context"] = tls_context(settings.database_ca_bundle)
    else:  # local: plaintext, said so (pg8000's default tries TLS unverified and falls back silently)
        connect_args["ssl_context"] = False
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=0 if settings.mode == "aws" else 4,
        pool_recycle=600,
        pool_timeout=settings.database_timeout_seconds,
    )
    mark_failovers_as_disconnects(engine)
    return engine


def mark_failovers_as_disconnects(engine: Engine) -> None:
    """SQLAlchemy's pg8000 dialect knows only 'network error' and 'connection is closed'."""

    @event.listens_for(engine, "handle_error")
    def _failover_is_disconnect(context: Any) -> None:
        if is_failover_error(context.original_exception):
            context.is_disconnect = True
        elif context.sqlalchemy_exception is None and not isinstance(context.original_exception, OSError):
            # Not a database error but the driver failing mid-call on a parameter it cannot encode: the
            # connection's protocol state is unknown, and reusing it corrupts the next request's results.
            context.is_disconnect = True


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def run_in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 2) -> T:
    """Run ``work`` in one transaction; after a dropped connection, run it again from the start on a new one."""
    for attempt in range(1, attempts + 1):
        try:
            with sessions.begin() as session:
                return work(session)
        except DBAPIError as exc:
            if attempt < attempts and (exc.connection_invalidated or is_failover_error(exc.orig)):
                continue
            raise
    raise AssertionError("unreachable")


class SessionDatabase:
    """A ``Session`` seen as a :class:`trainforge.connection.Database`: the same statements, in the session's
    transaction (the caller, or the service's ``commit``, ends it)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        result = cast("CursorResult[Any]", self.session.execute(text(sql), dict(params or {})))
        if not result.returns_rows:
            return []
        return [dict(row) for row in result.mappings()]

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def is_session_unavailable(exc: BaseException) -> bool:
    """A Session's error that means the database could not be reached (not a fault of the statement)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        orig: Any = exc.orig
        return (
            exc.connection_invalidated
            or is_connection_lost(orig)
            or isinstance(exc, InterfaceError | OperationalError)
        )
    return False
