"""The database as the handlers use it: one pg8000 connection per process, each statement one round trip.

Every state change is a single statement, atomic on its own, so it runs in autocommit: no BEGIN, no COMMIT.
pg8000's own ``run`` sends an unnamed statement in three exchanges (parse, describe, then bind and execute);
here the five messages go out together and the answer is read once, which is what libpq-based drivers do. The
statement stays unnamed: a named prepared statement would pin an RDS Proxy session to this client.

SQLAlchemy is not imported here (nor by anything the handlers import at start-up): it defines the schema and
the migrations, and serves the contract's ``Session``-taking methods through :mod:`trainforge.db`, which adapts
a ``Session`` to the same :class:`Database` protocol, so the data-access module has one set of statements.

- TLS verifies the server against Amazon's root CAs (RDS Proxy presents an Amazon Trust Services certificate):
  loading five roots costs a fraction of the system store. ``DATABASE_CA_BUNDLE`` names another bundle.
- A socket timeout bounds every wait, so a paused or failing-over Aurora cannot hang a function.
- A failover (SQLSTATE 08xxx, 57P01-03, 25006) or the connection dropping closes it; :meth:`NativeDatabase.run`
  runs the unit once more on a fresh one. Units on this path are single idempotent statements, or say so.
"""

from __future__ import annotations

import io
import json
import ssl
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from trainforge.settings import Settings

if TYPE_CHECKING:
    import pg8000.native

T = TypeVar("T")

DISCONNECT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "25006"})
AMAZON_ROOT_CAS = Path(__file__).parent / "certificates" / "amazon-root-cas.pem"


class Database(Protocol):
    """What the data-access module needs: rows for a statement with named (``:name``) bound parameters."""

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class DatabaseUnavailableError(Exception):
    """The database could not be reached (no connection, a timeout, a failover): try again later."""


def sqlstate(exc: BaseException | None) -> str:
    """The SQLSTATE of a pg8000 error (its first argument is the server's field dict), or ''."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], dict):
        return str(args[0].get("C", ""))
    return ""


@cache
def driver() -> Any:
    """pg8000, imported on the first connect (its SCRAM authentication pulls in an ASN.1 library: a cold start
    that never reaches the database, or a SnapStart snapshot, should not wait for it)."""
    # pg8000 on the first connect, not at import
    import pg8000.exceptions
    import pg8000.native

    return pg8000


def is_failover_error(exc: BaseException | None) -> bool:
    code = sqlstate(exc)
    return code.startswith("08") or code in DISCONNECT_SQLSTATES


def is_connection_lost(exc: BaseException) -> bool:
    """The connection cannot be trusted after ``exc``: it dropped, timed out, or the server is failing over."""
    if isinstance(exc, OSError | DatabaseUnavailableError):
        return True
    errors = sys.modules.get("pg8000.exceptions")  # no pg8000 loaded: no pg8000 error to recognise
    if errors is None:
        return False
    if isinstance(exc, errors.DatabaseError):
        return is_failover_error(exc)
    return isinstance(exc, errors.InterfaceError)


@dataclass(frozen=True)
class ConnectionParameters:
    user: str
    password: str | None = None
    host: str | None = None
    port: int = 5432
    database: str = "postgres"
    unix_sock: str | None = None
    timeout: float = 10.0
    tls: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 10.0) -> ConnectionParameters:
        """``postgresql+pg8000://user:password@host:port/database`` (``?unix_sock=`` for a socket)."""
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgresql"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        query = parse_qs(parts.query)
        return cls(
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password is not None else None,
            host=parts.hostname or None,
            port=parts.port or 5432,
            database=unquote(parts.path.lstrip("/")) or "postgres",
            unix_sock=query["unix_sock"][0] if "unix_sock" in query else None,
            timeout=timeout,
        )

    @classmethod
    def from_secret(
        cls, secret: Mapping[str, Any], host: str | None = None, *, timeout: float = 10.0
    ) -> ConnectionParameters:
        """The JSON secret RDS and ``DatabaseSecret`` write; ``host`` (the RDS Proxy's endpoint) replaces the
        cluster's."""
        missing = [k for k in ("username", "password", "host") if not secret.get(k)]
        if missing:
            raise ValueError(f"database secret lacks {', '.join(missing)}")
        return cls(
            user=str(secret["username"]),
            password=str(secret["password"]),
            host=host or str(secret["host"]),
            port=int(secret.get("port") or 5432),
            database=str(secret.get("dbname") or "postgres"),
            timeout=timeout,
        )

    def with_tls(self, context: ssl.SSLContext) -> ConnectionParameters:
        return ConnectionParameters(
            self.user,
            self.password,
            self.host,
            self.port,
            self.database,
            self.unix_sock,
            self.timeout,
            context,
        )


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A context that verifies the server's certificate and host name against Amazon's roots (or a bundle)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED by default
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=ca_bundle or str(AMAZON_ROOT_CAS))
    return context


@cache
def pipelined_connection_class() -> type[pg8000.native.Connection]:
    """pg8000's connection, with a statement sent as one exchange: Parse, Bind, Describe, Execute, Sync."""
    native: Any = driver().native
    # pg8000's internals, once the driver is loaded (the first statement)
    from pg8000.converters import make_params
    from pg8000.core import DESCRIBE, NULL_BYTE, PORTAL, SYNC_MSG, Context, _flush, _write
    from pg8000.exceptions import InterfaceError

    # pg8000 rewrites ``:name`` to ``$n`` character by character, in Python: a state change's statement is
    # 5 kB, so doing it once per statement text, not once per event, is most of this driver's overhead.
    to_statement = lru_cache(maxsize=256)(native.to_statement)

    class PipelinedConnection(native.Connection):  # type: ignore[misc]
        _sock: Any  # pg8000's buffered socket file

        def query(self, sql: str, params: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
            statement, make_values = to_statement(sql)
            values = make_params(self.py_types, make_values(params))
            context = Context(statement)
            # Composed in memory and written at once: through the socket's 8 kB buffer, a longer exchange would
            # leave in pieces, and the server answer the Flush that follows Parse before the rest arrived.
            socket_file: Any = self._sock
            composed = io.BytesIO()
            self._sock = composed
            try:
                self.send_PARSE(NULL_BYTE, statement, ())  # types left to the server, as pg8000's run does
                self.send_BIND(NULL_BYTE, values)
                self._send_message(DESCRIBE, PORTAL + NULL_BYTE)
                self.send_EXECUTE()
                _write(composed, SYNC_MSG)
                message = composed.getvalue()
            finally:
                self._sock = socket_file
            try:
                _write(socket_file, message)
            except ValueError as exc:  # as pg8000's own send says a closed connection
                raise InterfaceError("connection is closed") from exc
            _flush(socket_file)
            self.handle_messages(context)  # reads to ReadyForQuery; raises the server's error, if any
            names = [column["name"] for column in context.columns or ()]
            return names, context.rows or []

    return PipelinedConnection


class NativeDatabase:
    """One connection, opened on the first statement and reused; statements in autocommit."""

    def __init__(self, parameters: Callable[[], ConnectionParameters]) -> None:
        self._parameters = parameters
        self._connection: Any = None  # a pipelined pg8000 connection, once connected
        self._in_transaction = False
        self._lock = threading.RLock()  # the API's local server is threaded; Lambda is not

    def _connect(self) -> Any:
        if self._connection is None:
            p = self._parameters()
            errors = driver().exceptions
            try:
                self._connection = pipelined_connection_class()(
                    p.user,
                    host=p.host or "localhost",
                    unix_sock=p.unix_sock,
                    port=p.port,
                    database=p.database,
                    password=p.password,
                    # pg8000 would otherwise try TLS unverified (and load the system CA store): never that.
                    ssl_context=p.tls if p.tls is not None else False,
                    timeout=p.timeout,
                    application_name="trainforge",
                )
            except (errors.InterfaceError, OSError) as exc:
                raise DatabaseUnavailableError(f"cannot connect to the database: {exc}") from exc
        return self._connection

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            connection = self._connect()
            try:
                names, rows = connection.query(sql, params or {})
            except driver().exceptions.DatabaseError as exc:
                if is_failover_error(exc):
                    self.close()
                raise
            except BaseException:
                # The driver failed mid-exchange (a dropped socket, a timeout, a value it cannot encode): the
                # protocol state is unknown, and reusing the connection would mix answers up.
                self.close()
                raise
            return [dict(zip(names, row, strict=True)) for row in rows]

    def commit(self) -> None:
        """Each statement commits itself; in :meth:`transaction`, the block's end commits."""

    def rollback(self) -> None:
        """Nothing is pending outside :meth:`transaction`."""

    @contextmanager
    def transaction(self) -> Iterator[NativeDatabase]:
        """Several statements as one unit (costs a round trip each for BEGIN and COMMIT: off the hot path)."""
        with self._lock:
            if self._in_transaction:
                yield self
                return
            self.rows("BEGIN")
            self._in_transaction = True
            try:
                yield self
            except BaseException:
                self._in_transaction = False
                if self._connection is not None:
                    try:
                        self.rows("ROLLBACK")
                    except Exception:
                        self.close()
                raise
            self._in_transaction = False
            self.rows("COMMIT")

    def run(self, work: Callable[[NativeDatabase], T], attempts: int = 2) -> T:
        """Run ``work``; after a lost connection, once more from the start on a fresh one."""
        for attempt in range(1, attempts + 1):
            try:
                return work(self)
            except Exception as exc:
                if attempt < attempts and is_connection_lost(exc) and not self._in_transaction:
                    self.close()
                    continue
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the connection (after a failure, or after a SnapStart restore: a snapshot's socket is dead)."""
        connection, self._connection = self._connection, None
        self._in_transaction = False
        if connection is not None:
            with suppress(Exception):  # it is being dropped because it failed
                connection.close()


def json_param(value: Any) -> str:
    """A value for a ``CAST(:x AS jsonb)`` parameter (pg8000 would send a list as a PostgreSQL array)."""
    return json.dumps(value)


def parameters_for(settings: Settings, secrets_client: Any | None = None) -> ConnectionParameters:
    """Where and how to connect, read afresh on every connect (after a SnapStart restore or a rotation, the
    secret in Secrets Manager is the one that counts)."""
    timeout = settings.database_timeout_seconds
    if settings.database_url:
        parameters = ConnectionParameters.from_url(settings.database_url, timeout=timeout)
    elif settings.database_secret_arn:
        if secrets_client is None:
            # the Secrets Manager client only when the connection comes from a secret
            from trainforge.aws import client

            secrets_client = client("secretsmanager", settings.region)
        value = secrets_client.get_secret_value(SecretId=settings.database_secret_arn)["SecretString"]
        parameters = ConnectionParameters.from_secret(
            json.loads(value), settings.database_host, timeout=timeout
        )
    else:
        raise ValueError("DATABASE_URL or DATABASE_SECRET_ARN must be set")
    if settings.mode == "aws" and parameters.unix_sock is None:
        parameters = parameters.with_tls(tls_context(settings.database_ca_bundle))
    return parameters
