"""The audit trail: who did what (filings, corrections, withdrawals, refusals, replays, pauses,
record views, logins), append-only and tamper-evident — each entry carries the hash of the one
before, so an edit or a deletion shows. Entries name fields and codes, never personal data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store.tables import audit_head, audit_log
from hub.store.types import utcnow

GENESIS = "0" * 64
"""The hash the first entry points back to."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the client (API client, `cli`, `hub`, a department) and the person behind it."""

    client: str
    person: str | None = None


HUB = Actor("hub")
"""The hub itself, acting on its own (no client asked)."""


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    detail: Mapping[str, Any],
    person: str | None = None,
    application_id: str | None = None,
) -> str:
    """The hash an entry is stored with: over the previous hash and the entry's own fields."""
    fields: list[Any] = [prev_hash, at.isoformat(), actor, action, subject, detail]
    if person is not None or application_id is not None:
        # Entries written before persons were kept hash as they did then.
        fields += [person, application_id]
    canonical = json.dumps(
        fields,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    conn: AsyncConnection,
    actor: str | Actor,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    application_id: str | None = None,
) -> None:
    """Append an entry in the caller's transaction (so an action and its entry commit together).

    Append it last in the transaction: on PostgreSQL it holds the trail's head until commit."""
    who = actor if isinstance(actor, Actor) else Actor(actor)
    query = select(audit_head).where(audit_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # appends queue here: the chain never forks
    head = (await conn.execute(query)).mappings().first()
    if head is None:
        start = {"id": 1, "last_id": 0, "last_hash": GENESIS}
        if conn.dialect.name == "postgresql":
            # Two first appends at once (two windows filing on a new store) would both insert
            # the head: the second waits for the first's row instead, and chains after it.
            await conn.execute(postgresql.insert(audit_head).values(start).on_conflict_do_nothing())
            head = (await conn.execute(query)).mappings().first()
        else:  # SQLite's writing transactions are serialized: nobody else can be inserting it
            await conn.execute(audit_head.insert().values(start))
    prev = GENESIS if head is None else head["last_hash"]
    at = utcnow()
    details = dict(detail or {})
    digest = entry_hash(prev, at, who.client, action, subject, details, who.person, application_id)
    result = await conn.execute(
        audit_log.insert().values(
            at=at,
            actor=who.client,
            person=who.person,
            action=action,
            subject=subject,
            application_id=application_id,
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
    actor: str | Actor,
    action: str,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    application_id: str | None = None,
) -> None:
    """Append an entry in a transaction of its own."""
    async with engine.begin() as conn:
        await record(conn, actor, action, subject, detail, application_id=application_id)


async def search(
    conn: AsyncConnection,
    *,
    application_id: str | None = None,
    actor: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
    newest_first: bool = False,
) -> list[RowMapping]:
    """Entries matching the filters, oldest first (or newest), after a cursor id. `actor`
    matches the client or the person; `kind` an act (`application.correct`) or its family."""
    order = audit_log.c.id.desc() if newest_first else audit_log.c.id
    query = select(audit_log).order_by(order).limit(limit)
    if application_id is not None:
        query = query.where(audit_log.c.application_id == application_id)
    if actor is not None:
        query = query.where(or_(audit_log.c.actor == actor, audit_log.c.person == actor))
    if kind is not None:
        query = query.where(
            or_(
                audit_log.c.action == kind,
                audit_log.c.action.startswith(f"{kind}.", autoescape=True),
            )
        )
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if after_id is not None:
        query = query.where(audit_log.c.id > after_id)
    return list((await conn.execute(query)).mappings())


def entry_view(row: RowMapping) -> dict[str, Any]:
    """One entry as the API, `hub audit show --json` and the console show it."""
    return {
        "id": row["id"],
        "at": row["at"].isoformat(),
        "client": row["actor"],
        "person": row["person"],
        "kind": row["action"],
        "subject": row["subject"],
        "application_id": row["application_id"],
        "detail": row["detail"],
    }


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
        prev,
        row["at"],
        row["actor"],
        row["action"],
        row["subject"],
        row["detail"],
        row["person"],
        row["application_id"],
    )
    if recomputed != row["hash"]:
        return Break(row["id"], "its contents were changed after it was written")
    return None
