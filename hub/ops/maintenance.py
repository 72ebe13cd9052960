"""Maintenance mode: an operator pauses a department; its deliveries wait and nothing goes out."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.model.states import DeliveryState
from hub.ops import audit
from hub.store.lean import lean
from hub.store.tables import deliveries, department_pauses
from hub.store.types import utcnow

_PAUSES = lean(select(department_pauses))  # read by every claim round


async def paused(conn: AsyncConnection) -> dict[str, RowMapping]:
    """The paused departments, with who paused them, when and why."""
    rows = await conn.execute(_PAUSES)
    return {row["department"]: row for row in rows.mappings()}


async def pause(engine: AsyncEngine, department: str, reason: str, by: str | audit.Actor) -> bool:
    """Pause a department (audited); False if it was paused already."""
    who = by if isinstance(by, audit.Actor) else audit.Actor(by)
    async with engine.begin() as conn:
        if department in await paused(conn):
            return False
        await conn.execute(
            department_pauses.insert().values(
                department=department,
                paused_at=utcnow(),
                paused_by=who.person or who.client,
                reason=reason,
            )
        )
        await audit.record(conn, by, "department.pause", department, {"reason": reason})
    return True


async def resume(engine: AsyncEngine, department: str, by: str | audit.Actor) -> bool:
    """Resume a paused department (audited); False if it was not paused.

    The pause does not count against its deliveries' maximum age: their first tries move on by
    as long as the department was paused.
    """
    async with engine.begin() as conn:
        pause_row = (await paused(conn)).get(department)
        if pause_row is None:
            return False
        now = utcnow()
        await conn.execute(
            department_pauses.delete().where(department_pauses.c.department == department)
        )
        waited = now - pause_row["paused_at"]
        pending = await conn.execute(
            select(deliveries.c.id, deliveries.c.first_attempt_at).where(
                deliveries.c.department == department,
                deliveries.c.state == DeliveryState.PENDING,
                deliveries.c.first_attempt_at.is_not(None),
            )
        )
        for delivery_id, first in pending.all():
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(first_attempt_at=first + waited)
            )
        await audit.record(
            conn,
            by,
            "department.resume",
            department,
            {"paused_for_seconds": round(waited.total_seconds())},
        )
    return True
