"""The relay: status events read from the store, in order, and announced to plugins once each.

One hub process at a time holds the relay (a lease on its cursor row), so a change is announced
by one process, after it was committed, and never lost: the cursor moves only after plugins heard.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.plugin.manager import Plugins
from hub.store import applications as app_store
from hub.store import events
from hub.store.outages import Outages
from hub.store.tables import relay_cursors
from hub.store.types import utcnow

log = structlog.get_logger("hub.relay")
LEASE = timedelta(seconds=30)
BATCH = 200
"""Events read at a time."""


class Relay:
    """Announces application status changes to the plugins (hub_status_changed)."""

    name = "status_changed"

    def __init__(self, engine: AsyncEngine, plugins: Plugins, worker: str, interval: float) -> None:
        self.engine = engine
        self.plugins = plugins
        self.worker = worker
        self.interval = interval
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Relay until stop()."""
        outages = Outages(log, "relay", "relay.failed")
        while not self.stopping.is_set():
            try:
                while await self.relay_once():
                    pass
            except Exception as exc:
                outages.failed(exc)
            else:
                outages.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.interval)

    def stop(self) -> None:
        """Finish the batch under way, then stop."""
        self.stopping.set()

    async def relay_once(self) -> bool:
        """Announce one batch, if this process holds the relay; True if there may be more."""
        last = await self._lease()
        if last is None:
            return False
        async with self.engine.connect() as conn:
            batch = await events.after(conn, last, limit=BATCH)
            # An application's status, not a step's: the ones plugins are told, read at once.
            told = [event for event in batch if event["delivery_id"] is None]
            snapshots = await app_store.snapshots(conn, {e["application_id"] for e in told})
        if not batch:
            return False
        for event in told:
            snapshot = snapshots.get(event["application_id"])
            if snapshot is not None:
                with structlog.contextvars.bound_contextvars(
                    application_id=event["application_id"]
                ):
                    await self.plugins.status_changed(snapshot, event["old"], event["new"])
            # The plugins heard it: never again, whatever happens next.
            await self._advance(event["id"])
        if batch[-1]["delivery_id"] is not None:
            await self._advance(batch[-1]["id"])  # past the steps' events, which are not told
        return len(batch) == BATCH

    async def _advance(self, event_id: int) -> None:
        """Move the cursor (and renew the lease) past an event; one write per announcement,
        not per event, since most events are a step's and are not announced."""
        async with self.engine.begin() as conn:
            await conn.execute(
                relay_cursors.update()
                .where(relay_cursors.c.name == self.name, relay_cursors.c.locked_by == self.worker)
                .values(last_event_id=event_id, locked_until=utcnow() + LEASE)
            )

    async def _lease(self) -> int | None:
        """Take or renew the relay's lease; the last event announced, None if another holds it."""
        now = utcnow()
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(relay_cursors)
                .values(name=self.name, last_event_id=0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            taken = await conn.execute(
                relay_cursors.update()
                .where(
                    relay_cursors.c.name == self.name,
                    or_(
                        relay_cursors.c.locked_by == self.worker,
                        relay_cursors.c.locked_until.is_(None),
                        relay_cursors.c.locked_until < now,
                    ),
                )
                .values(locked_by=self.worker, locked_until=now + LEASE)
            )
            if taken.rowcount != 1:
                return None
            row = await conn.execute(
                select(relay_cursors.c.last_event_id).where(relay_cursors.c.name == self.name)
            )
            return int(row.scalar_one())
