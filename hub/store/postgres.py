"""PostgreSQL connections: fixed pools, and a connection checked for life only after it idled.

Two measured costs (docs/performance.md, round six) shape this:

- SQLAlchemy's default pool keeps 5 connections and opens up to 10 more under load, closing
  each extra one as soon as it comes back. At load nearly every transaction beyond the fifth
  opened a connection (TCP, an SSL offer, authentication) and prepared its statements again.
  A pool of a fixed size keeps them: transactions wait for one instead, which on a process bound
  by its CPU costs nothing.
- `pool_pre_ping` checks every connection at every checkout, and asyncpg's check is three round
  trips (a transaction begun, a statement, a rollback): more than a short transaction's own
  statements. As connection pools such as HikariCP do, a connection used within the last
  `IDLE_CHECK` seconds is trusted; one that idled longer is checked with one round trip
  (an empty query, on the simple protocol, which poolers such as PgBouncer pass in any mode).

A connection that died while it was trusted fails the one transaction that uses it; SQLAlchemy
then sees the disconnect and replaces every connection of the pool opened before it, as it does
when a check fails.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

IDLE_CHECK = 1.0
"""Seconds a connection may idle in the pool and still be taken without a check."""

CHECK_TIMEOUT = 5.0
"""Seconds the check may take before the connection counts as dead (a server that vanished
without closing its connections would otherwise hold the checkout)."""

_RETURNED_AT = "hub_returned_at"


def pool_options(connections: int | None, name: str | None) -> dict[str, Any]:
    """create_async_engine's options for a pool of `connections` kept open (SQLAlchemy's
    default where None), whose sessions `pg_stat_activity` shows as `name`."""
    options: dict[str, Any] = {}
    if connections is not None:
        options |= {"pool_size": connections, "max_overflow": 0}
    if name is not None:
        options["connect_args"] = {"server_settings": {"application_name": name}}
    return options


def check_after_idle(engine: Engine, seconds: float = IDLE_CHECK) -> None:
    """Check a connection for life when it is taken from the pool after idling there longer
    than `seconds` (0: at every checkout); a dead one replaces the pool's connections."""

    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
        entry.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def taken(_dbapi_connection: Any, entry: ConnectionPoolEntry, _proxy: Any) -> None:
        # A connection just opened has no return time: it needs no check.
        since = entry.info.get(_RETURNED_AT)
        driver = entry.driver_connection
        if since is None or driver is None or time.monotonic() - since < seconds:
            return
        try:
            # The checkout runs in SQLAlchemy's greenlet, where the loop may be awaited.
            await_only(driver.execute(";", timeout=CHECK_TIMEOUT))
        except Exception as exc:
            raise InvalidatePoolError(f"connection found dead after idling: {exc!r}") from exc
