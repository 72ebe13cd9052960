"""How an application moves on after one of its deliveries changed: the DAG and its status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.delivery import (
    ACCEPTED,
    BLOCKING,
    ApplicationStatus,
    DeliveryState,
    aggregate,
    resolve_inputs,
)
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store


async def settle(conn: AsyncConnection, application_id: str, now: datetime) -> ApplicationStatus:
    """Release waiting steps whose predecessors all hold the filing, cancel those that never can
    go, and store the application's status; in the caller's transaction. Returns the status."""
    rows = await app_store.deliveries_of(conn, application_id)
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
            states[r["step"]] = DeliveryState.PENDING
        elif any(s in (DeliveryState.REJECTED, DeliveryState.CANCELLED) for s in before):
            blocked = next(n for n in r["after"] if states[n] in BLOCKING)
            await delivery_store.set_state(
                conn,
                r["id"],
                DeliveryState.CANCELLED,
                now,
                last_error_code="upstream_refused",
                last_error_message=f"not sent: step {blocked} was {states[blocked]}",
            )
            states[r["step"]] = DeliveryState.CANCELLED
    status = aggregate(states.values())
    await app_store.set_status(conn, application_id, status, now)
    return status
