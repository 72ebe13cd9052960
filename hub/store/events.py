"""Status events: every change of a delivery's or an application's status, in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.lean import lean
from hub.store.tables import status_events

_INSERT = lean(status_events.insert())  # built once (see hub.store.deliveries)


async def delivery_changed(
    conn: AsyncConnection,
    delivery: RowMapping,
    new: str,
    now: datetime,
    *,
    code: str | None = None,
    message: str | None = None,
) -> None:
    """Record that a delivery moved to a new state (nothing if it did not move)."""
    if delivery["state"] == new:
        return
    await conn.execute(
        _INSERT,
        {
            "application_id": delivery["application_id"],
            "delivery_id": delivery["id"],
            "step": delivery["step"],
            "department": delivery["department"],
            "old": delivery["state"],
            "new": new,
            "code": code,
            "message": message,
            "at": now,
        },
    )


async def application_changed(
    conn: AsyncConnection, application_id: str, old: str | None, new: str, now: datetime
) -> None:
    """Record that an application's aggregated status changed."""
    if old == new:
        return
    await conn.execute(
        _INSERT, {"application_id": application_id, "old": old, "new": new, "at": now}
    )


async def of_application(
    conn: AsyncConnection, application_id: str, after_id: int = 0, limit: int = 1000
) -> list[RowMapping]:
    """An application's events after an event id, in order."""
    result = await conn.execute(
        select(status_events)
        .where(status_events.c.application_id == application_id, status_events.c.id > after_id)
        .order_by(status_events.c.id)
        .limit(limit)
    )
    return list(result.mappings())


async def after(conn: AsyncConnection, after_id: int, limit: int = 500) -> list[RowMapping]:
    """Every event after an event id, in order (for relays)."""
    result = await conn.execute(
        select(status_events)
        .where(status_events.c.id > after_id)
        .order_by(status_events.c.id)
        .limit(limit)
    )
    return list(result.mappings())


def event_view(row: RowMapping) -> dict[str, Any]:
    """One status event as the API and the SSE stream show it."""
    return {
        "id": row["id"],
        "application_id": row["application_id"],
        "subject": "delivery" if row["delivery_id"] else "application",
        "delivery_id": row["delivery_id"],
        "step": row["step"],
        "department": row["department"],
        "old": row["old"],
        "new": row["new"],
        "code": row["code"],
        "message": row["message"],
        "at": row["at"].isoformat(),
    }
