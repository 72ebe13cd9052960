"""The sync log: one row per call to a department, written before the call goes out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.tables import attempts


async def begin(conn: AsyncConnection, values: Mapping[str, Any]) -> int:
    """Record that a call is about to be made; its id, to finish it with."""
    result = await conn.execute(attempts.insert().values(**values))
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    return int(primary_key[0])


async def finish(conn: AsyncConnection, attempt_id: int, values: Mapping[str, Any]) -> None:
    """Record how a call ended."""
    await conn.execute(attempts.update().where(attempts.c.id == attempt_id).values(**values))


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
