"""Liveness: whether the database answers, and whether an error means it cannot (retry later)."""

from __future__ import annotations

import sys
from collections.abc import Callable

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
    if (
        "sqlalchemy" in sys.modules
    ):  # a Session's error (the contract's path); never loaded for this check alone
        from trainforge.db import is_session_unavailable

        return is_session_unavailable(exc)
    return False
