"""How an application moves on after one of its deliveries changed: the DAG and its status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.model.states import (
    WITHDRAWAL_FAILED,
    WITHDRAWN_BECAUSE,
    WITHDRAWN_IF_BLOCKED,
    ApplicationStatus,
    DeliveryState,
    Dependencies,
    aggregate,
    inputs_given,
    resolve_inputs,
)
from hub.model.timelimits import Clock
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store
from hub.store import events

UPSTREAM_REFUSED = "upstream_refused"
"""The code of a step cancelled or withdrawn because a step before it ended refused."""


async def settle(
    conn: AsyncConnection, application_id: str, now: datetime, clock: Clock
) -> ApplicationStatus:
    """Release waiting steps whose predecessors are as far as they wait for (approved, or only
    received where the matter says so) and whose inputs are given; cancel those that never can
    go and withdraw those sent on a receipt whose step then ended refused; store the
    application's status and stop or restart its clock; in the caller's transaction. Returns
    the status.

    The application's row is locked first: two of its deliveries finishing at once (in two
    processes, or two transactions of one on PostgreSQL) would otherwise each read the other's
    step as unfinished, and neither would release the step waiting for both, nor mark the
    application decided."""
    application = await app_store.standing(conn, application_id)
    assert application is not None
    rows = await app_store.steps_of(conn, application_id)
    states = {r["step"]: DeliveryState(r["state"]) for r in rows}
    outputs = {r["step"]: r["outputs"] or {} for r in rows}
    for r in rows:  # planned order: a step comes after those it waits for
        dependencies = Dependencies.read(r["after"])
        if not dependencies.steps:
            continue
        state = states[r["step"]]
        blocked = dependencies.blocked_by(states)
        if state is not DeliveryState.WAITING:
            if blocked is not None and state in WITHDRAWN_IF_BLOCKED | {DeliveryState.APPROVED}:
                # Only a step sent on a receipt can be out while a step before it is refused.
                states[r["step"]] = await _withdraw(conn, r, blocked, states[blocked], now)
            continue
        if blocked is not None:
            message = f"not sent: step {blocked} was {states[blocked]}"
            await _cancel(conn, r, message, now)
            states[r["step"]] = DeliveryState.CANCELLED
        elif dependencies.met(states) and inputs_given(r["uses"], outputs, states):
            await delivery_store.set_state(
                conn, r["id"], DeliveryState.PENDING, now, inputs=resolve_inputs(r["uses"], outputs)
            )
            await events.delivery_changed(conn, r, DeliveryState.PENDING, now)
            states[r["step"]] = DeliveryState.PENDING
    status = aggregate(states.values())
    if status != application["status"]:
        await app_store.set_status(
            conn, application_id, status, now, **_clock(application, status, now, clock)
        )
        await events.application_changed(conn, application_id, application["status"], status, now)
    return status


async def _cancel(conn: AsyncConnection, row: RowMapping, message: str, now: datetime) -> None:
    """Cancel a step that never reached its department, because a step before it was refused."""
    await delivery_store.set_state(
        conn,
        row["id"],
        DeliveryState.CANCELLED,
        now,
        decided_at=now,
        next_attempt_at=None,
        last_error_code=UPSTREAM_REFUSED,
        last_error_message=message,
    )
    await events.delivery_changed(
        conn, row, DeliveryState.CANCELLED, now, code=UPSTREAM_REFUSED, message=message
    )


async def _withdraw(
    conn: AsyncConnection, step: RowMapping, blocked: str, blocked_state: str, now: datetime
) -> DeliveryState:
    """A step sent on a predecessor's receipt, that predecessor since refused (or cancelled,
    dead, failed): what never reached the department is cancelled at once; what did (or may
    have) is marked for withdrawal, which the dispatcher carries out through the adapter like a
    send (hub.delivery.withdrawal); one decided already is flagged for the operators. Returns
    the step's state now."""
    row = await delivery_store.get(conn, step["id"])
    assert row is not None
    state = DeliveryState(row["state"])
    flags = dict(row["flags"] or {})
    if row["cancel_requested_at"] is not None or WITHDRAWAL_FAILED in flags:
        return state  # asked already, or given up on: the operators know
    because = {"step": blocked, "state": str(blocked_state)}
    if state is DeliveryState.APPROVED:
        flags[WITHDRAWAL_FAILED] = {
            "code": "decided_already",
            "message": f"approved before step {blocked} was {blocked_state}",
            "at": now.isoformat(),
            "because": because,
        }
        await delivery_store.set_state(conn, row["id"], state, now, flags=flags)
        return state
    never_sent = row["receipt_reference"] is None and not row["in_doubt"]
    if never_sent and row["locked_by"] is None:
        await _cancel(conn, step, f"not sent: step {blocked} was {blocked_state}", now)
        return DeliveryState.CANCELLED
    await delivery_store.set_state(
        conn,
        row["id"],
        state,
        now,
        cancel_requested_at=now,
        next_attempt_at=None,
        flags=flags | {WITHDRAWN_BECAUSE: because},
    )
    return state


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
