"""Applications and their deliveries: written together, read together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.tables import applications, attempts, deliveries


async def insert_application(
    conn: AsyncConnection,
    application: dict[str, Any],
    planned: Sequence[dict[str, Any]],
) -> None:
    """Write an application and one delivery per step; the caller's transaction makes it atomic."""
    await conn.execute(applications.insert().values(**application))
    await conn.execute(deliveries.insert(), list(planned))


async def get_application(conn: AsyncConnection, application_id: str) -> RowMapping | None:
    """One application row, or None."""
    result = await conn.execute(select(applications).where(applications.c.id == application_id))
    return result.mappings().first()


async def deliveries_of(conn: AsyncConnection, application_id: str) -> list[RowMapping]:
    """An application's deliveries, in the order they were planned."""
    result = await conn.execute(
        select(deliveries)
        .where(deliveries.c.application_id == application_id)
        .order_by(deliveries.c.created_at, deliveries.c.id)
    )
    return list(result.mappings())


async def attempts_of(conn: AsyncConnection, application_id: str) -> list[RowMapping]:
    """Every sync-log row of an application, oldest first."""
    result = await conn.execute(
        select(attempts).where(attempts.c.application_id == application_id).order_by(attempts.c.id)
    )
    return list(result.mappings())


async def set_status(
    conn: AsyncConnection, application_id: str, status: str, now: datetime, **values: Any
) -> None:
    """Store an application's aggregated status (and whatever changes with it)."""
    await conn.execute(
        applications.update()
        .where(applications.c.id == application_id)
        .values(status=status, updated_at=now, **values)
    )


async def by_idempotency_key(conn: AsyncConnection, key: str) -> RowMapping | None:
    """The application filed under an idempotency key."""
    result = await conn.execute(select(applications).where(applications.c.idempotency_key == key))
    return result.mappings().first()
