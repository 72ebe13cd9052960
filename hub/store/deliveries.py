"""Deliveries as a work queue: claimed under a lease, released to the steps that follow."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, exists, func, or_, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.model.states import UNDECIDED, DeliveryState
from hub.store import breakers as breaker_store
from hub.store.lean import lean
from hub.store.tables import deliveries

# Not delivered, or maybe delivered: a cancellation finds out at the department, if need be.
CANCEL_HERE_OR_THERE = (DeliveryState.PENDING, DeliveryState.DEAD, DeliveryState.FAILED)

# The statements run on every call, built once: SQLAlchemy then skips building them and working
# out their cache key on each execution (two thirds of a small statement's cost), and on SQLite,
# marked lean, they skip its execution machinery too (hub.store.lean). An UPDATE without
# .values() sets the columns its parameters name; the WHERE's parameters are b_*.
_BY_ID = lean(select(deliveries).where(deliveries.c.id == bindparam("b_id")))
# What writing a job's outcome reads again first (hub.delivery.jobs.Work.write): the state and
# what an outcome is a function of, not the payload, plan and times, which it would only decode.
_STANDING = lean(
    select(
        deliveries.c.id,
        deliveries.c.application_id,
        deliveries.c.step,
        deliveries.c.department,
        deliveries.c.state,
        deliveries.c.outputs,
        deliveries.c.department_code,
        deliveries.c.polls_unchanged,
        deliveries.c.correction_requests,
    ).where(deliveries.c.id == bindparam("b_id"))
)
_STANDING_LOCKED = _STANDING.with_for_update()
_UPDATE = lean(deliveries.update().where(deliveries.c.id == bindparam("b_id")))
_UPDATE_LEASED = _UPDATE.where(deliveries.c.locked_by == bindparam("b_worker"))


_NOW: BindParameter[datetime] = bindparam("b_now")
_DEPARTMENT: BindParameter[str] = bindparam("b_department")
_d = deliveries.c
_UNLEASED = or_(_d.locked_until.is_(None), _d.locked_until < _NOW)
_WORK_KINDS = (
    # (waiting since, due when): a first send, a retry, a status query, a withdrawal.
    (_d.created_at, and_(_d.state == DeliveryState.PENDING, _d.next_attempt_at.is_(None))),
    (_d.next_attempt_at, and_(_d.state == DeliveryState.PENDING, _d.next_attempt_at <= _NOW)),
    (_d.next_poll_at, and_(_d.state.in_(list(UNDECIDED)), _d.next_poll_at <= _NOW)),
    (
        _d.cancel_requested_at,
        and_(
            _d.cancel_requested_at.is_not(None),
            _d.state.in_([*UNDECIDED, *CANCEL_HERE_OR_THERE]),
            or_(_d.next_attempt_at.is_(None), _d.next_attempt_at <= _NOW),
        ),
    ),
)
_CLAIMABLE = and_(_UNLEASED, or_(*(due for _, due in _WORK_KINDS)))
"""Due work of any kind, with no live lease."""


def _due_work(waiting_since: Any, due: Any) -> Any:
    """One kind of a department's due work, unleased, up to the room there is: the longest
    waiting first (by `waiting_since`), read from an index in that order where one gives it,
    so that a claim reads about as many rows as it takes however long the queue (a backlog at
    opening hours). A retry waits from its next_attempt_at, so one that failed again goes
    behind the others instead of being taken again and again (a breaker's probe)."""
    order = (waiting_since,) if waiting_since is _d.created_at else (waiting_since, _d.created_at)
    return lean(
        select(_d.id, _d.created_at)
        .where(_d.department == _DEPARTMENT, due, _UNLEASED)
        .order_by(*order)
        .limit(bindparam("b_room"))
    )


# The claim round's statements, built once (see above): due work is looked for constantly. Of
# the longest waiting work of each kind, a claim takes the oldest filings' first, so that an
# application already under way moves on before newer ones start, and a retry or a status query
# of an early filing does not wait behind a backlog of later ones.
_DUE_KINDS = tuple(_due_work(waiting_since, due) for waiting_since, due in _WORK_KINDS)
_DUE_KINDS_LOCKED = tuple(query.with_for_update(skip_locked=True) for query in _DUE_KINDS)
_ANY_DUE = lean(select(or_(*(exists(query.limit(None).order_by(None)) for query in _DUE_KINDS))))
_LEASES_HELD = lean(
    select(func.count())
    .select_from(deliveries)
    .where(_d.department == _DEPARTMENT, _d.locked_until >= _NOW)
)
_LEASE = (
    deliveries.update()
    .where(_d.id.in_(bindparam("b_ids", expanding=True)), _CLAIMABLE)
    .returning(*deliveries.c)
)


async def _department_lock(conn: AsyncConnection, department: str) -> None:
    """Serialize claims for one department across processes, so its limit holds across them.

    On PostgreSQL a transaction-scoped advisory lock; SQLite already serializes every writing
    transaction (they begin IMMEDIATE), so there is nothing more to do there.
    """
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"hub.claim.{department}".encode())
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def leases_held(conn: AsyncConnection, department: str, now: datetime) -> int:
    """How many deliveries of a department are leased by any hub process right now."""
    result = await conn.execute(_LEASES_HELD, {"b_department": department, "b_now": now})
    return int(result.scalar_one())


async def claim(
    conn: AsyncConnection,
    department: str,
    *,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
    most: int | None = None,
) -> list[RowMapping]:
    """Lease due deliveries of one department: as many as its limit leaves room for, at most `most`.
    Returns their rows as leased, so that the work on them starts without reading them again.

    `limit` is the department's concurrency; deliveries leased by any process count against it.
    """
    await _department_lock(conn, department)
    room = limit - await leases_held(conn, department, now)
    if most is not None:
        room = min(room, most)
    if room <= 0:
        return []
    kinds = _DUE_KINDS_LOCKED if conn.dialect.name == "postgresql" else _DUE_KINDS
    params = {"b_department": department, "b_now": now, "b_room": room}
    filed: dict[str, datetime] = {}
    for query in kinds:
        filed.update((row.id, row.created_at) for row in await conn.execute(query, params))
    ids = sorted(filed, key=filed.__getitem__)[:room]
    if not ids:
        return []
    leased = await conn.execute(
        _LEASE, {"b_ids": ids, "b_now": now, "locked_by": worker, "locked_until": now + lease}
    )
    return list(leased.mappings())


async def due_departments(
    conn: AsyncConnection, departments: Iterable[str], now: datetime
) -> list[str]:
    """Those of the given departments that have deliveries due now, for the dispatcher to claim
    from; one index lookup per department and kind of work, however long their queues."""
    due = []
    for department in departments:
        params = {"b_department": department, "b_now": now}
        if (await conn.execute(_ANY_DUE, params)).scalar_one():
            due.append(department)
    return due


async def next_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest scheduled retry falls due."""
    result = await conn.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.state == DeliveryState.PENDING
        )
    )
    value: datetime | None = result.scalar_one()
    return value


async def get(conn: AsyncConnection, delivery_id: str) -> RowMapping | None:
    """One delivery row."""
    result = await conn.execute(_BY_ID, {"b_id": delivery_id})
    return result.mappings().first()


async def standing(conn: AsyncConnection, delivery_id: str) -> RowMapping | None:
    """A delivery's identity, state, outputs, department code and unchanged polls, locked
    until the transaction ends (on PostgreSQL), as an outcome is written from them."""
    locked = conn.dialect.name == "postgresql"
    query = _STANDING_LOCKED if locked else _STANDING
    return (await conn.execute(query, {"b_id": delivery_id})).mappings().first()


async def by_reference(conn: AsyncConnection, department: str, reference: str) -> RowMapping | None:
    """The delivery a department knows by its own reference number, locked for update."""
    query = select(deliveries).where(
        deliveries.c.department == department, deliveries.c.receipt_reference == reference
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    result = await conn.execute(query)
    return result.mappings().first()


async def update_leased(
    conn: AsyncConnection, delivery_id: str, worker: str, values: Mapping[str, Any]
) -> bool:
    """Update a delivery only while this worker still holds its lease; False if it was lost."""
    result = await conn.execute(_UPDATE_LEASED, {**values, "b_id": delivery_id, "b_worker": worker})
    return result.rowcount == 1


_UPDATE_CALLABLE = {
    probing: _UPDATE_LEASED.where(breaker_store.may_call(probing=probing))
    for probing in (False, True)
}


async def update_if_callable(
    conn: AsyncConnection,
    delivery_id: str,
    department: str,
    worker: str,
    values: Mapping[str, Any],
    *,
    probing: bool,
) -> bool:
    """update_leased, only if the delivery's department may be called now (not paused, its
    breaker closed, or half open with this worker's probe when `probing`): a call's go-ahead
    and its record in one statement. False if the lease was lost or the gate is shut; the
    caller reads the gate to tell which."""
    parameters = {
        **values,
        "b_id": delivery_id,
        "b_worker": worker,
        "b_department": department,
    }
    result = await conn.execute(_UPDATE_CALLABLE[probing], parameters)
    return result.rowcount == 1


async def release_lease(conn: AsyncConnection, delivery_id: str, worker: str) -> None:
    """Give a lease back without changing anything else (shutdown, lost race)."""
    await conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery_id, deliveries.c.locked_by == worker)
        .values(locked_by=None, locked_until=None)
    )


async def release_all(conn: AsyncConnection, worker: str) -> int:
    """Give back every lease a worker holds; how many there were."""
    result = await conn.execute(
        deliveries.update()
        .where(deliveries.c.locked_by == worker)
        .values(locked_by=None, locked_until=None)
    )
    return result.rowcount


async def set_state(
    conn: AsyncConnection, delivery_id: str, state: DeliveryState, now: datetime, **values: Any
) -> None:
    """Move a delivery to a state (no lease needed: the caller owns it otherwise)."""
    await conn.execute(_UPDATE, {**values, "state": state, "updated_at": now, "b_id": delivery_id})


REPLAYABLE = (DeliveryState.DEAD, DeliveryState.FAILED)


async def replay(conn: AsyncConnection, delivery_id: str, now: datetime) -> RowMapping | None:
    """Make a dead letter (or a failed delivery) due again, with a fresh retry budget.

    The delivery key stays, so a department that already has the filing recognizes it; a dead
    letter keeps its stored payload, so the same bytes go out. Returns the row as it was, or
    None when there is no such delivery or it is not dead or failed.
    """
    row = await get(conn, delivery_id)
    if row is None or row["state"] not in REPLAYABLE:
        return None
    await conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery_id, deliveries.c.state.in_(REPLAYABLE))
        .values(
            state=DeliveryState.PENDING,
            next_attempt_at=None,
            retry_base=deliveries.c.attempts,
            first_attempt_at=None,
            locked_by=None,
            locked_until=None,
            updated_at=now,
        )
    )
    return row


async def search(
    conn: AsyncConnection,
    *,
    states: list[str] | None = None,
    department: str | None = None,
    application_id: str | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> list[RowMapping]:
    """Deliveries matching the filters, by id (oldest first), after a cursor id."""
    query = select(deliveries).order_by(deliveries.c.id).limit(limit)
    if states:
        query = query.where(deliveries.c.state.in_(states))
    if department:
        query = query.where(deliveries.c.department == department)
    if application_id:
        query = query.where(deliveries.c.application_id == application_id)
    if after_id:
        query = query.where(deliveries.c.id > after_id)
    return list((await conn.execute(query)).mappings())
