"""Fresh stores for each hub run, and reading a run's progress and timings from the store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.model.states import FINAL, DeliveryState
from hub.store.tables import applications, attempts, deliveries

TERMINAL = [*FINAL, DeliveryState.FAILED, DeliveryState.DEAD]
"""States a delivery does not leave without an operator: the run waits for no more."""
WATCH_INTERVAL = 0.25


@contextlib.asynccontextmanager
async def fresh_store(kind: str, workdir: Path, postgres: str, name: str) -> AsyncIterator[str]:
    """A new empty store's URL: a SQLite file, or a database created on the PostgreSQL server
    (and dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    database = f"bench_{name}".replace("-", "_")
    url = make_url(postgres)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
        yield url.set(database=database).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def postgres_reachable(postgres: str) -> bool:
    """Whether the PostgreSQL server answers."""
    engine = create_async_engine(make_url(postgres).set(database="postgres"))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Counts:
    """How far a run has got, as the store has it."""

    applications: int
    open_deliveries: int
    approved_applications: int


@dataclass(frozen=True)
class Finished:
    """When each application's last delivery was decided, and the calls the hub made."""

    decided: dict[str, datetime]
    by_department: dict[str, tuple[int, datetime]]
    """Department → (deliveries decided, when its last one was)."""
    attempts: dict[str, int]
    """Sync-log rows by outcome."""


class Progress:
    """Reads a hub's store from outside the hub, as a monitor would."""

    def __init__(self, url: str) -> None:
        # A plain engine: no BEGIN IMMEDIATE, so reading never takes SQLite's write lock; on
        # aiosqlite, so that the load generator's loop does not wait on the hub's file.
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        self.engine: AsyncEngine = create_async_engine(parsed)

    async def close(self) -> None:
        """Close its connections."""
        await self.engine.dispose()

    async def counts(self, departments: list[str] | None = None) -> Counts:
        """Applications filed, deliveries not yet terminal, applications approved."""
        open_query = select(func.count()).where(deliveries.c.state.not_in(TERMINAL))
        if departments is not None:
            open_query = open_query.where(deliveries.c.department.in_(departments))
        async with self.engine.connect() as conn:
            filed = (await conn.execute(select(func.count()).select_from(applications))).scalar()
            still = (await conn.execute(open_query.select_from(deliveries))).scalar()
            approved = (
                await conn.execute(
                    select(func.count())
                    .select_from(applications)
                    .where(applications.c.status == "approved")
                )
            ).scalar()
        return Counts(int(filed or 0), int(still or 0), int(approved or 0))

    async def wait(
        self,
        done: Callable[[Counts], bool],
        *,
        departments: list[str] | None = None,
        on_counts: Callable[[Counts], None] | None = None,
    ) -> Counts:
        """Read the counts until `done` says so.

        The hub is another process and SQLite has no notifications: the store is read at a
        short interval.
        """
        while True:
            counts = await self.counts(departments)
            if on_counts is not None:
                on_counts(counts)
            if done(counts):
                return counts
            await asyncio.sleep(WATCH_INTERVAL)

    async def finished(self) -> Finished:
        """Decision times per application and per department, and the sync log's outcomes."""
        decided_at = func.coalesce(deliveries.c.decided_at, deliveries.c.updated_at)
        async with self.engine.connect() as conn:
            per_app = await conn.execute(
                select(deliveries.c.application_id, func.max(decided_at)).group_by(
                    deliveries.c.application_id
                )
            )
            decided = {row[0]: _aware(row[1]) for row in per_app}
            per_dept = await conn.execute(
                select(deliveries.c.department, func.count(), func.max(decided_at))
                .where(deliveries.c.state.in_(list(FINAL)))
                .group_by(deliveries.c.department)
            )
            by_department = {row[0]: (int(row[1]), _aware(row[2])) for row in per_dept}
            outcomes = await conn.execute(
                select(attempts.c.outcome, func.count()).group_by(attempts.c.outcome)
            )
            counted = {str(row[0]): int(row[1]) for row in outcomes}
        return Finished(decided, by_department, counted)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite answers an aggregate of a timestamp as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
