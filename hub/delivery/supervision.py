"""效能监察 over time: the periodic check that turns undecided applications amber, then red.

Each change is recorded on the application (supervision, supervision_due) by a conditional
update, so of several hub processes one records it and that one tells the plugins
(hub_supervision_changed) once. The check reads only undecided, running applications whose
promised date is near (an index on promised_due), plus the few already amber or red.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.model.configuration import HubConfig
from hub.model.timelimits import SUPERVISION_RANK as RANK
from hub.plugin.manager import Plugins
from hub.store import applications as app_store
from hub.store.applications import FINAL_STATUSES
from hub.store.outages import Outages
from hub.store.tables import applications
from hub.store.types import utcnow

log = structlog.get_logger("hub.supervision")

INTERVAL = 60.0
"""Seconds between checks: states change with the day, so a minute is prompt enough."""
HORIZON_SLACK = 21
"""Calendar days added to the widest amber warning when picking candidates: the longest run of
holidays and weekends (Spring Festival, National Day) fits in it."""


@dataclass(frozen=True, slots=True)
class Change:
    """One application's supervision state changing, as recorded."""

    application_id: str
    old: str
    new: str


async def supervise(
    engine: AsyncEngine, config: HubConfig, plugins: Plugins | None, now: datetime
) -> list[Change]:
    """Record every application's supervision state as of `now`; tell plugins of amber and red.

    A state rises with the clock (normal → amber → red); it falls only when the promised date
    moved since it was judged (an extension, a stopped clock run again), never because another
    process's clock reads an earlier instant.
    """
    today = config.clock.today(now)
    widest = max((m.amber_days for m in config.catalog), default=0)
    horizon = today + timedelta(days=2 * widest + HORIZON_SLACK)
    query = select(
        applications.c.id,
        applications.c.matter,
        applications.c.promised_due,
        applications.c.supervision,
        applications.c.supervision_due,
    ).where(
        applications.c.status.not_in(FINAL_STATUSES),
        applications.c.clock_stopped_at.is_(None),
        applications.c.suspended_at.is_(None),
        or_(applications.c.promised_due <= horizon, applications.c.supervision != "normal"),
    )
    changes: list[Change] = []
    async with engine.begin() as conn:
        rows = (await conn.execute(query)).mappings().all()
        for row in rows:
            matter = config.catalog.matters.get(row["matter"])
            amber_days = matter.amber_days if matter is not None else 0
            new = config.clock.supervision(row["promised_due"], now, amber_days)
            old = row["supervision"]
            moved = row["supervision_due"] != row["promised_due"]
            if new == old or (RANK[new] < RANK.get(old, 0) and not moved):
                continue
            # Only the process whose update finds the state it read records (and tells) it.
            done = await conn.execute(
                applications.update()
                .where(
                    applications.c.id == row["id"],
                    applications.c.supervision == old,
                    applications.c.promised_due == row["promised_due"],
                )
                .values(supervision=new, supervision_due=row["promised_due"], supervision_since=now)
            )
            if done.rowcount == 1:
                changes.append(Change(row["id"], old, new))
    told = [c for c in changes if c.new in ("amber", "red")]
    if plugins is not None and told:
        async with engine.connect() as conn:
            snapshots = await app_store.snapshots(conn, {c.application_id for c in told})
        for change in told:
            snapshot = snapshots.get(change.application_id)
            if snapshot is None:
                continue
            with structlog.contextvars.bound_contextvars(application_id=change.application_id):
                log.info("supervision.changed", old=change.old, new=change.new)
                await plugins.supervision_changed(
                    snapshot | {"supervision": change.new}, change.old, change.new
                )
    return changes


class Supervisor:
    """Runs the supervision check every INTERVAL seconds until stop()."""

    def __init__(
        self, engine: AsyncEngine, config: HubConfig, plugins: Plugins, interval: float = INTERVAL
    ) -> None:
        self.engine = engine
        self.config = config
        self.plugins = plugins
        self.interval = interval
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Check until stop()."""
        outages = Outages(log, "supervision", "supervision.failed")
        while not self.stopping.is_set():
            try:
                await supervise(self.engine, self.config, self.plugins, utcnow())
            except Exception as exc:
                outages.failed(exc)
            else:
                outages.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.interval)

    def stop(self) -> None:
        """Stop after the check under way."""
        self.stopping.set()
