"""The audit trail: who did what (replays, cancels, pauses, record views, logins), append-only and
tamper-evident — each entry carries the hash of the one before, so an edit or a deletion shows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store.tables import audit_head, audit_log
from hub.store.types import utcnow

GENESIS = "0" * 64
"""The hash the first entry points back to."""


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    detail: Mapping[str, Any],
) -> str:
    """The hash an entry is stored with: over the previous hash and the entry's own fields."""
    canonical = json.dumps(
        [prev_hash, at.isoformat(), actor, action, subject, detail],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    conn: AsyncConnection,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an entry in the caller's transaction (so an action and its entry commit together)."""
    query = select(audit_head).where(audit_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # appends queue here: the chain never forks
    head = (await conn.execute(query)).mappings().first()
    if head is None:
        await conn.execute(audit_head.insert().values(id=1, last_id=0, last_hash=GENESIS))
        prev = GENESIS
    else:
        prev = head["last_hash"]
    at = utcnow()
    details = dict(detail or {})
    digest = entry_hash(prev, at, actor, action, subject, details)
    result = await conn.execute(
        audit_log.insert().values(
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=details,
            prev_hash=prev,
            hash=digest,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    await conn.execute(
        audit_head.update()
        .where(audit_head.c.id == 1)
        .values(last_id=int(key[0]), last_hash=digest)
    )


async def append(
    engine: AsyncEngine,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an entry in a transaction of its own."""
    async with engine.begin() as conn:
        await record(conn, actor, action, subject, detail)


@dataclass(frozen=True, slots=True)
class Break:
    """Where the chain is broken, and how."""

    entry_id: int
    reason: str


async def verify(engine: AsyncEngine) -> tuple[int, Break | None]:
    """Walk the whole trail: (entries checked, the first break or None)."""
    checked = 0
    prev = GENESIS
    expected_id: int | None = None
    async with engine.connect() as conn:
        head = (await conn.execute(select(audit_head))).mappings().first()
        result = await conn.stream(select(audit_log).order_by(audit_log.c.id))
        async for row in result.mappings():
            found = _check(row, prev, expected_id)
            if found is not None:
                return checked, found
            prev, expected_id = row["hash"], row["id"] + 1
            checked += 1
    if head is not None and (
        head["last_id"] != (expected_id or 1) - 1 or head["last_hash"] != prev
    ):
        return checked, Break(
            head["last_id"], "the newest entries were deleted (the head points past the end)"
        )
    return checked, None


def _check(row: RowMapping, prev: str, expected_id: int | None) -> Break | None:
    if expected_id is not None and row["id"] != expected_id:
        return Break(expected_id, f"entries {expected_id}..{row['id'] - 1} were deleted")
    if row["prev_hash"] != prev:
        return Break(row["id"], "it does not point back to the entry before it")
    recomputed = entry_hash(
        prev, row["at"], row["actor"], row["action"], row["subject"], row["detail"]
    )
    if recomputed != row["hash"]:
        return Break(row["id"], "its contents were changed after it was written")
    return None
