"""Telling the store's outages (worth a retry) from its other errors (a fault to look into)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def store_unavailable(exc: BaseException) -> bool:
    """The store could not be reached, lost its connection, or had none free in time: the same
    request may well succeed a moment later."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return isinstance(exc, PoolTimeout)
