"""Liveness: whether the database answers, and whether an error means it cannot (retry later)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from trainforge.connection import Database, DatabaseUnavailableError, is_connection_lost


def database_answers(database: Callable[[], Database]) -> bool:
    """One round trip; False (never an exception) when the database cannot be reached."""
    try:
        database().rows("SELECT 1")
    except Exception:
        return False
    return True


def is_database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or is failing over (not a fault of the statement): retry later."""
    if isinstance(exc, DatabaseUnavailableError | ConnectionError | TimeoutError) or is_connection_lost(exc):
        return True
    if "sqlalchemy" in sys.modules:  # a Session's errors (the contract's path): never imported for this check
        return _is_sqlalchemy_unavailable(exc)
    return False


def _is_sqlalchemy_unavailable(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

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
