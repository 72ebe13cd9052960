"""Telling the store's outages (worth a retry) from its other errors (a fault to look into)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# PostgreSQL's SQLSTATEs for a server out of reach: class 08 (connection exceptions), shut down
# by an administrator or a crash, not yet accepting connections, too many of them.
_POSTGRES_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite's for a file another connection holds: its busy timeout ran out.
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED")


def store_unavailable(exc: BaseException) -> bool:
    """The store could not be reached, lost its connection, or had none free in time: the same
    request may well succeed a moment later. A statement the store refuses (a wrong statement or
    schema, a constraint) is not such a case, unless its code says the server is going away."""
    if isinstance(exc, PoolTimeout | ConnectionError):  # a connection refused or reset
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or exc.statement is None:
        # Lost, or failed outside any statement: connecting (the database refusing sessions, a
        # restart under way), beginning or committing.
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_UNAVAILABLE):
        return True
    sqlite_error = getattr(exc.orig, "sqlite_errorname", None)
    return isinstance(sqlite_error, str) and sqlite_error.startswith(_SQLITE_UNAVAILABLE)


def error_class(exc: BaseException) -> str:
    """The class of the driver's error under `exc`, for logs: its message may quote a
    statement's values."""
    return type(getattr(exc, "orig", None) or exc).__name__


class Outages:
    """What a loop that retries every few tenths of a second logs when a round fails: an outage
    of the store once when it begins (`store.unavailable`) and once when it ends
    (`store.recovered`), instead of a traceback at every round; any other failure in full, as
    `failure_event`."""

    def __init__(self, log: Any, component: str, failure_event: str) -> None:
        self.log = log
        """The component's own logger."""
        self.component = component
        self.failure_event = failure_event
        self.out = False
        """The last round failed for an outage of the store."""

    def failed(self, exc: BaseException) -> None:
        """A round failed with `exc`."""
        if not store_unavailable(exc):
            self.log.error(self.failure_event, exc_info=exc)
        elif not self.out:
            self.log.warning("store.unavailable", component=self.component, error=error_class(exc))
            self.out = True

    def succeeded(self) -> None:
        """A round went through."""
        if self.out:
            self.log.info("store.recovered", component=self.component)
            self.out = False
