"""How an application moves on after one of its deliveries changed: the DAG and its status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.model.states import (
    ACCEPTED,
    BLOCKING,
    ApplicationStatus,
    DeliveryState,
    aggregate,
    resolve_inputs,
)
from hub.model.timelimits import Clock
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store
from hub.store import events


async def settle(
    conn: AsyncConnection, application_id: str, now: datetime, clock: Clock
) -> ApplicationStatus:
    """Release waiting steps whose predecessors all hold the filing, cancel those that never can
    go, store the application's status and stop or restart its clock; in the caller's
    transaction. Returns the status.

    The application's row is locked first: two of its deliveries finishing at once (in two
    processes, or two transactions of one on PostgreSQL) would otherwise each read the other's
    step as unfinished, and neither would release the step waiting for both, nor mark the
    application decided."""
    application = await app_store.standing(conn, application_id)
    assert application is not None
    rows = await app_store.steps_of(conn, application_id)
    by_step = {r["step"]: r for r in rows}
    states = {r["step"]: DeliveryState(r["state"]) for r in rows}
    for r in rows:  # planned order: a step comes after those it waits for
        if states[r["step"]] is not DeliveryState.WAITING:
            continue
        before = [states[name] for name in r["after"]]
        if all(s in ACCEPTED for s in before):
            outputs = {name: by_step[name]["outputs"] or {} for name in r["after"]}
            await delivery_store.set_state(
                conn, r["id"], DeliveryState.PENDING, now, inputs=resolve_inputs(r["uses"], outputs)
            )
            await events.delivery_changed(conn, r, DeliveryState.PENDING, now)
            states[r["step"]] = DeliveryState.PENDING
        elif any(s in (DeliveryState.REJECTED, DeliveryState.CANCELLED) for s in before):
            blocked = next(n for n in r["after"] if states[n] in BLOCKING)
            message = f"not sent: step {blocked} was {states[blocked]}"
            await delivery_store.set_state(
                conn,
                r["id"],
                DeliveryState.CANCELLED,
                now,
                last_error_code="upstream_refused",
                last_error_message=message,
            )
            await events.delivery_changed(
                conn, r, DeliveryState.CANCELLED, now, code="upstream_refused", message=message
            )
            states[r["step"]] = DeliveryState.CANCELLED
    status = aggregate(states.values())
    if status != application["status"]:
        await app_store.set_status(
            conn, application_id, status, now, **_clock(application, status, now, clock)
        )
        await events.application_changed(conn, application_id, application["status"], status, now)
    return status


def _clock(application: RowMapping, status: str, now: datetime, clock: Clock) -> dict[str, Any]:
    """The time-limit columns that change with a status: the clock stops while the applicant
    owes a correction, and when it runs again the due dates move on by the days it stood."""
    owed = status == ApplicationStatus.NEEDS_CORRECTION
    stopped = application["clock_stopped_at"]
    if owed and stopped is None:
        return {"clock_stopped_at": now}
    if not owed and stopped is not None:
        return {
            "clock_stopped_at": None,
            "statutory_due": clock.extend(application["statutory_due"], stopped, now),
            "promised_due": clock.extend(application["promised_due"], stopped, now),
        }
    return {}
