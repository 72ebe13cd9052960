"""What all work on a claimed delivery shares: its context, and how its outcome is written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.delivery.calls import Calls, LeaseLost
from hub.delivery.flow import settle
from hub.model.catalog import Step
from hub.model.departments import Department
from hub.model.states import DeliveryState, Dependencies
from hub.model.timelimits import Clock
from hub.ops import audit
from hub.plugin.adapter import Adapter, DeliveryContext
from hub.store import deliveries as delivery_store
from hub.store import events

RELEASED = {"locked_by": None, "locked_until": None}
"""Values that give a delivery's lease back."""


@dataclass(frozen=True)
class Job:
    """One claimed delivery: its row as claimed, its department and adapter."""

    row: RowMapping
    department: Department
    adapter: Adapter

    @property
    def step(self) -> Step:
        """The step as planned when the application was filed."""
        dependencies = Dependencies.read(self.row["after"])
        return Step(
            name=self.row["step"],
            department=self.row["department"],
            operation=self.row["operation"],
            after=dependencies.approved,
            after_received=dependencies.received,
            uses=self.row["uses"],
        )

    @property
    def context(self) -> DeliveryContext:
        """What goes along with every call for this delivery."""
        return DeliveryContext(
            self.row["application_id"],
            self.row["delivery_key"],
            self.row["inputs"] or {},
            correction=self.row["corrections"],
            previous_reference=self.row["receipt_reference"],
        )


@dataclass
class Work:
    """The services jobs use: the store, the calls, the calendar, this process's name."""

    engine: AsyncEngine
    departments: Mapping[str, Department]
    calls: Calls
    clock: Clock
    worker: str
    wake: Callable[[], None]

    async def finish(
        self,
        row: RowMapping,
        now: datetime,
        values: Mapping[str, Any] | Callable[[RowMapping], Mapping[str, Any]],
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Write a job's outcome under its lease, in a transaction of its own (see write)."""
        async with self.engine.begin() as conn:
            changed = await self.write(conn, row, now, values, code=code, message=message)
        if changed:
            self.wake()

    async def write(
        self,
        conn: AsyncConnection,
        row: RowMapping,
        now: datetime,
        values: Mapping[str, Any] | Callable[[RowMapping], Mapping[str, Any]],
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> bool:
        """Write a job's outcome under its lease, in the caller's transaction; a new state is a
        status event, and the application then moves on (steps released, status and clock
        updated). True if the state changed: the caller wakes the dispatcher once committed.

        The delivery is read again (and locked) first: a callback may have moved it since it
        was claimed. `values` may be a function of that current row (the columns of
        delivery_store.standing), for outcomes that must not overwrite what arrived meanwhile;
        the event's old state is always the current one.
        """
        current = await delivery_store.standing(conn, row["id"])
        if current is None:
            raise LeaseLost
        if callable(values):
            values = values(current)
        updated = {**values, "updated_at": now}
        if not await delivery_store.update_leased(conn, row["id"], self.worker, updated):
            raise LeaseLost
        state = values.get("state")
        await moved(conn, current, state, now, self.clock, code=code, message=message)
        return state not in (None, current["state"])


async def moved(
    conn: AsyncConnection,
    row: RowMapping,
    state: str | None,
    now: datetime,
    clock: Clock,
    *,
    code: str | None = None,
    message: str | None = None,
) -> None:
    """After a delivery's row was updated: if its state changed, record the event and let the
    application move on. In the caller's transaction."""
    if state is not None and state != row["state"]:
        await events.delivery_changed(conn, row, state, now, code=code, message=message)
        await settle(conn, row["application_id"], now, clock)
        if state == DeliveryState.NEEDS_CORRECTION and row["correction_requests"] >= 1:
            # Accepted (it happens), but everything to correct is to be told at once: the
            # repeated request is the department's act, on the record for supervisors.
            await audit.record(
                conn,
                audit.Actor(f"department:{row['department']}"),
                "delivery.correction_repeated",
                row["id"],
                {"step": row["step"], "request": row["correction_requests"] + 1, "code": code},
                application_id=row["application_id"],
            )
