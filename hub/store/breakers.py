"""Circuit breakers per department, kept in the store so that every hub process obeys the same one.

Written here rather than taken from a library: pybreaker, aiobreaker and purgatory keep their
state in process memory or in Redis, while the hub's promise is that the store is the only
shared state it needs, and the API and every process must see one breaker per department.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.lean import lean
from hub.store.tables import breakers, department_pauses


class BreakerState(StrEnum):
    """Closed: calls go out. Open: none do until the cool-down ends. Half open: one probe does."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Gate:
    """What decides whether a department may be called now, as the store has it."""

    paused: bool
    """An operator paused the department."""
    state: str | None
    """Its breaker's state; None where it never failed (closed)."""
    probe_by: str | None
    """The hub process whose call probes a half-open breaker."""


_DEPARTMENT: BindParameter[str] = bindparam("b_department")
# One statement, built once, read before every call (see hub.store.deliveries).
_GATE = lean(
    select(
        exists().where(department_pauses.c.department == _DEPARTMENT).label("paused"),
        select(breakers.c.state).where(breakers.c.department == _DEPARTMENT).scalar_subquery(),
        select(breakers.c.probe_by).where(breakers.c.department == _DEPARTMENT).scalar_subquery(),
    )
)
_ALL = lean(select(breakers))  # read by every claim round


_CLOSED = ~exists().where(
    breakers.c.department == _DEPARTMENT, breakers.c.state != BreakerState.CLOSED
)
_PROBED_BY = ~exists().where(
    breakers.c.department == _DEPARTMENT,
    breakers.c.state != BreakerState.CLOSED,
    (breakers.c.state != BreakerState.HALF_OPEN)
    | breakers.c.probe_by.is_distinct_from(bindparam("b_worker")),
)
_NOT_PAUSED = ~exists().where(department_pauses.c.department == _DEPARTMENT)


def may_call(*, probing: bool) -> ColumnElement[bool]:
    """The gate as a condition for a statement about to let a call go (parameters b_department
    and b_worker): the department is not paused, and its breaker is closed or, for a probe,
    half open with b_worker its prober. What `gate` reads, as one statement's WHERE."""
    return and_(_NOT_PAUSED, _PROBED_BY if probing else _CLOSED)


async def gate(conn: AsyncConnection, department: str) -> Gate:
    """The department's pause and breaker, read in one statement."""
    paused, state, probe_by = (await conn.execute(_GATE, {"b_department": department})).one()
    return Gate(bool(paused), state, probe_by)


async def all_breakers(conn: AsyncConnection) -> dict[str, RowMapping]:
    """Every department's breaker row (a department never failed has none: it is closed)."""
    result = await conn.execute(_ALL)
    return {row["department"]: row for row in result.mappings()}


async def _ensure(conn: AsyncConnection, department: str, now: datetime) -> None:
    """Create a department's breaker row if no process has yet (several may try at once)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(
        insert(breakers)
        .values(department=department, state=BreakerState.CLOSED, failures=0, changed_at=now)
        .on_conflict_do_nothing(index_elements=["department"])
    )


async def _row(conn: AsyncConnection, department: str) -> RowMapping:
    result = await conn.execute(select(breakers).where(breakers.c.department == department))
    return result.mappings().one()


async def take_probe(
    conn: AsyncConnection, department: str, worker: str, now: datetime, stale: timedelta
) -> bool:
    """Become the one caller that probes a department whose cool-down is over.

    An open breaker past its cool-down, or a half-open one whose prober went silent for longer
    than `stale` (it died), is handed to this worker; True if it now holds the probe.
    """
    result = await conn.execute(
        breakers.update()
        .where(
            breakers.c.department == department,
            ((breakers.c.state == BreakerState.OPEN) & (breakers.c.open_until <= now))
            | (
                (breakers.c.state == BreakerState.HALF_OPEN)
                & (breakers.c.changed_at <= now - stale)
            ),
        )
        .values(state=BreakerState.HALF_OPEN, probe_by=worker, changed_at=now)
    )
    return result.rowcount == 1


async def give_back_probe(
    conn: AsyncConnection, department: str, worker: str, now: datetime
) -> None:
    """Return a probe that was taken but not used: the breaker is open and due for one again."""
    await conn.execute(
        breakers.update()
        .where(breakers.c.department == department, breakers.c.probe_by == worker)
        .values(state=BreakerState.OPEN, open_until=now, probe_by=None, changed_at=now)
    )


async def record_failure(
    conn: AsyncConnection,
    department: str,
    code: str,
    *,
    threshold: int,
    cooldown: timedelta,
    now: datetime,
) -> BreakerState:
    """Count one more failure in a row; open at the threshold, or when a probe failed."""
    await _ensure(conn, department, now)
    await conn.execute(
        breakers.update()
        .where(breakers.c.department == department)
        .values(failures=breakers.c.failures + 1, last_failure_code=code)
    )
    row = await _row(conn, department)
    if row["state"] == BreakerState.HALF_OPEN or (
        row["state"] == BreakerState.CLOSED and row["failures"] >= threshold
    ):
        await conn.execute(
            breakers.update()
            .where(breakers.c.department == department)
            .values(
                state=BreakerState.OPEN, open_until=now + cooldown, probe_by=None, changed_at=now
            )
        )
        return BreakerState.OPEN
    return BreakerState(row["state"])


async def record_success(conn: AsyncConnection, department: str, now: datetime) -> bool:
    """The department answered: the breaker closes and its failure count restarts.

    True if that changed the breaker's state (it was open or half open).
    """
    await _ensure(conn, department, now)
    row = await _row(conn, department)
    await conn.execute(
        breakers.update()
        .where(breakers.c.department == department)
        .values(
            state=BreakerState.CLOSED,
            failures=0,
            open_until=None,
            probe_by=None,
            last_success_at=now,
            changed_at=now if row["state"] != BreakerState.CLOSED else row["changed_at"],
        )
    )
    return bool(row["state"] != BreakerState.CLOSED)
