"""Liveness: whether the database answers, and whether an error means it cannot (retry later)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from trainforge.db import is_failover_error


def database_answers(sessions: Callable[[], Any]) -> bool:
    """One round trip; False (never an exception) when the database cannot be reached."""
    try:
        with sessions() as db:
            db.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def is_database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or is failing over (not a fault of the statement): retry later."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return (
            exc.connection_invalidated
            or is_failover_error(exc.orig)
            or isinstance(exc, InterfaceError | OperationalError)
        )
    return isinstance(exc, ConnectionError | TimeoutError)
