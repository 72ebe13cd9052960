"""The wire facts of each call to a department, collected for the sync log while a call runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request to a department and what came back, or why nothing did."""

    department: str
    method: str
    url: str
    started_at: datetime
    duration: float
    request_size: int
    request_sha256: str
    response_size: int | None = None
    response_sha256: str | None = None
    http_status: int | None = None
    error: str | None = None


# A context variable rather than a return value, so that adapters stay free of bookkeeping:
# whatever they send through hub.transports lands in the recording of the task that called them.
_current: ContextVar[list[Exchange] | None] = ContextVar("hub_exchanges", default=None)


@contextmanager
def recording() -> Iterator[list[Exchange]]:
    """Collect every exchange made by the current task (and tasks it starts) inside the block."""
    exchanges: list[Exchange] = []
    token = _current.set(exchanges)
    try:
        yield exchanges
    finally:
        _current.reset(token)


def record(exchange: Exchange) -> None:
    """Add an exchange to the current recording, if anyone is recording."""
    exchanges = _current.get()
    if exchanges is not None:
        exchanges.append(exchange)
