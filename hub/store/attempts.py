"""The sync log: one row per call to a department, written before the call goes out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.lean import lean
from hub.store.tables import attempts, deliveries

# Built once (see hub.store.deliveries): two of them per department call.
_BEGIN = lean(attempts.insert())
_FINISH = lean(attempts.update().where(attempts.c.id == bindparam("b_id")))


async def begin(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Record that a call is about to be made; its id, to finish it with."""
    result = await conn.execute(_BEGIN, dict(values))
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])


async def finish(conn: AsyncConnection, attempt_id: int, values: Mapping[str, Any]) -> None:
    """Record how a call ended."""
    await conn.execute(_FINISH, {**values, "b_id": attempt_id})


async def mark_interrupted(conn: AsyncConnection, delivery_id: str) -> int:
    """Close the rows a crash left open, so the sync log says what is known: nothing."""
    result = await conn.execute(
        attempts.update()
        .where(attempts.c.delivery_id == delivery_id, attempts.c.outcome.is_(None))
        .values(
            outcome="interrupted",
            error_code="interrupted",
            error_message="the hub process stopped during the call; its outcome is unknown",
        )
    )
    return result.rowcount


async def search(
    conn: AsyncConnection,
    *,
    application_id: str | None = None,
    delivery_key: str | None = None,
    departments: list[str] | None = None,
    outcome: str | None = None,
    error_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_duration_ms: float | None = None,
    before_id: int | None = None,
    after_id: int | None = None,
    ids: Collection[int] | None = None,
    in_flight: bool = False,
    limit: int = 100,
) -> list[RowMapping]:
    """Sync-log rows matching the filters: newest first below a cursor, or oldest first above one
    (to follow the log as it grows); `ids` reads only those rows, `in_flight` only calls that
    have not ended."""
    query = select(attempts, deliveries.c.delivery_key, deliveries.c.step).join(
        deliveries, deliveries.c.id == attempts.c.delivery_id
    )
    if ids is not None:
        query = query.where(attempts.c.id.in_(ids))
    if in_flight:
        query = query.where(attempts.c.outcome.is_(None))
    if application_id:
        query = query.where(attempts.c.application_id == application_id)
    if delivery_key:
        query = query.where(deliveries.c.delivery_key == delivery_key)
    if departments is not None:
        query = query.where(attempts.c.department.in_(departments))
    if outcome:
        query = query.where(attempts.c.outcome == outcome)
    if error_code:
        query = query.where(attempts.c.error_code == error_code)
    if since is not None:
        query = query.where(attempts.c.started_at >= since)
    if until is not None:
        query = query.where(attempts.c.started_at < until)
    if min_duration_ms is not None:
        query = query.where(attempts.c.duration_ms >= min_duration_ms)
    if after_id is not None:
        query = query.where(attempts.c.id > after_id).order_by(attempts.c.id)
    else:
        if before_id is not None:
            query = query.where(attempts.c.id < before_id)
        query = query.order_by(attempts.c.id.desc())
    return list((await conn.execute(query.limit(limit))).mappings())
