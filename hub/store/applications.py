"""Applications and their deliveries: written together, read together."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.lean import lean
from hub.store.tables import applications, attempts, deliveries, record_versions

FINAL_STATUSES = ("approved", "rejected", "cancelled")
"""Application statuses after which no time limit runs."""

# What moving an application on reads and writes after each of its deliveries changed, built
# once (see hub.store.deliveries), and without the record and payloads it does not need.
_STANDING = lean(
    select(
        applications.c.status,
        applications.c.clock_stopped_at,
        applications.c.statutory_due,
        applications.c.promised_due,
    ).where(applications.c.id == bindparam("b_id"))
)
_STANDING_LOCKED = _STANDING.with_for_update()
_STEPS = lean(
    select(
        deliveries.c.id,
        deliveries.c.application_id,
        deliveries.c.step,
        deliveries.c.department,
        deliveries.c.state,
        deliveries.c.after,
        deliveries.c.uses,
        deliveries.c.outputs,
    )
    .where(deliveries.c.application_id == bindparam("b_id"))
    .order_by(deliveries.c.created_at, deliveries.c.id)
)
_UPDATE = lean(applications.update().where(applications.c.id == bindparam("b_id")))
_RECORD = lean(
    select(applications.c.record, applications.c.record_version).where(
        applications.c.id == bindparam("b_id")
    )
)
# A filing's own statements, built once likewise.
_INSERT = lean(applications.insert())
_INSERT_DELIVERIES = lean(deliveries.insert())
_INSERT_VERSION = lean(record_versions.insert())
_BY_IDEMPOTENCY_KEY = lean(
    select(applications).where(applications.c.idempotency_key == bindparam("b_key"))
)


async def insert_application(
    conn: AsyncConnection,
    application: dict[str, Any],
    planned: Sequence[dict[str, Any]],
) -> None:
    """Write an application and one delivery per step; the caller's transaction makes it atomic."""
    await conn.execute(_INSERT, application)
    await conn.execute(_INSERT_DELIVERIES, list(planned))
    await insert_version(
        conn,
        application["id"],
        1,
        application["record"],
        application.get("filed_by_client"),
        application.get("filed_by_person"),
        application["created_at"],
    )


async def insert_version(
    conn: AsyncConnection,
    application_id: str,
    version: int,
    record: dict[str, Any],
    client: str | None,
    person: str | None,
    at: datetime,
) -> None:
    """Keep one version of an application's record, with who filed it and when."""
    await conn.execute(
        _INSERT_VERSION,
        {
            "application_id": application_id,
            "version": version,
            "record": record,
            "filed_by_client": client,
            "filed_by_person": person,
            "filed_at": at,
        },
    )


async def versions_of(conn: AsyncConnection, application_id: str) -> list[RowMapping]:
    """Every version of an application's record, the first filing first."""
    result = await conn.execute(
        select(record_versions)
        .where(record_versions.c.application_id == application_id)
        .order_by(record_versions.c.version)
    )
    return list(result.mappings())


async def get_application(conn: AsyncConnection, application_id: str) -> RowMapping | None:
    """One application row, or None."""
    result = await conn.execute(select(applications).where(applications.c.id == application_id))
    return result.mappings().first()


async def standing(conn: AsyncConnection, application_id: str) -> RowMapping | None:
    """An application's status and time limits, locked until the transaction ends (on
    PostgreSQL; SQLite's writing transactions are serialized already)."""
    query = _STANDING_LOCKED if conn.dialect.name == "postgresql" else _STANDING
    return (await conn.execute(query, {"b_id": application_id})).mappings().first()


async def steps_of(conn: AsyncConnection, application_id: str) -> list[RowMapping]:
    """An application's deliveries in planned order, as far as moving it on needs them: their
    step, department, state, plan and outputs."""
    return list((await conn.execute(_STEPS, {"b_id": application_id})).mappings())


_SNAPSHOTS = select(
    applications.c.id,
    applications.c.reference,
    applications.c.matter,
    applications.c.status,
    applications.c.created_at,
    applications.c.statutory_due,
    applications.c.promised_due,
    applications.c.record,
).where(applications.c.id.in_(bindparam("b_ids", expanding=True)))


async def snapshots(conn: AsyncConnection, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Applications as plugins are told of them (hook hub_status_changed), by id, in one read;
    an id not in the store is left out."""
    if not ids:
        return {}
    result = await conn.execute(_SNAPSHOTS, {"b_ids": list(ids)})
    return {row["id"]: dict(row) for row in result.mappings()}


async def record_of(conn: AsyncConnection, application_id: str) -> dict[str, Any] | None:
    """An application's record alone (the rest of its row is not needed to build a payload)."""
    found = await versioned_record_of(conn, application_id)
    return found[0] if found is not None else None


async def versioned_record_of(
    conn: AsyncConnection, application_id: str
) -> tuple[dict[str, Any], int] | None:
    """An application's current record and its version number, read together."""
    row = (await conn.execute(_RECORD, {"b_id": application_id})).first()
    return (row[0], int(row[1])) if row is not None else None


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
        _UPDATE, {**values, "status": status, "updated_at": now, "b_id": application_id}
    )


async def by_idempotency_key(conn: AsyncConnection, key: str) -> RowMapping | None:
    """The application filed under an idempotency key."""
    result = await conn.execute(_BY_IDEMPOTENCY_KEY, {"b_key": key})
    return result.mappings().first()


async def update_record(
    conn: AsyncConnection,
    application_id: str,
    record: dict[str, Any],
    now: datetime,
    *,
    client: str | None = None,
    person: str | None = None,
) -> int:
    """Replace an application's record with a corrected one, keeping it as the next version;
    the new version number."""
    await conn.execute(
        applications.update()
        .where(applications.c.id == application_id)
        .values(record=record, record_version=applications.c.record_version + 1, updated_at=now)
    )
    version = int(
        (
            await conn.execute(
                select(applications.c.record_version).where(applications.c.id == application_id)
            )
        ).scalar_one()
    )
    await insert_version(conn, application_id, version, record, client, person, now)
    return version


async def search(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    matter: str | None = None,
    department: str | None = None,
    overdue_on: date | None = None,
    submitted_after: datetime | None = None,
    submitted_before: datetime | None = None,
    before_id: str | None = None,
    limit: int = 50,
) -> list[RowMapping]:
    """Applications matching the filters, newest first, before a cursor id."""
    query = select(applications).order_by(applications.c.id.desc()).limit(limit)
    if status:
        query = query.where(applications.c.status == status)
    if matter:
        query = query.where(applications.c.matter == matter)
    if department:
        query = query.where(
            applications.c.id.in_(
                select(deliveries.c.application_id).where(deliveries.c.department == department)
            )
        )
    if overdue_on is not None:
        query = query.where(
            applications.c.promised_due < overdue_on,
            applications.c.status.not_in(FINAL_STATUSES),
            applications.c.clock_stopped_at.is_(None),
        )
    if submitted_after is not None:
        query = query.where(applications.c.created_at >= submitted_after)
    if submitted_before is not None:
        query = query.where(applications.c.created_at < submitted_before)
    if before_id:
        query = query.where(applications.c.id < before_id)
    return list((await conn.execute(query)).mappings())


async def by_reference(conn: AsyncConnection, reference: str) -> RowMapping | None:
    """The application with a public reference."""
    result = await conn.execute(select(applications).where(applications.c.reference == reference))
    return result.mappings().first()


async def status_counts(conn: AsyncConnection) -> dict[str, int]:
    """How many applications have each status."""
    rows = await conn.execute(
        select(applications.c.status, func.count()).group_by(applications.c.status)
    )
    return {str(status): int(count) for status, count in rows}


async def overdue_count(conn: AsyncConnection, today: date) -> int:
    """Undecided applications past their promised limit (not while a correction is owed)."""
    result = await conn.execute(
        select(func.count()).where(
            applications.c.promised_due < today,
            applications.c.status.not_in(FINAL_STATUSES),
            applications.c.clock_stopped_at.is_(None),
        )
    )
    return int(result.scalar_one())
