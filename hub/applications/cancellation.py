"""Cancelling an application: at once what never left the hub; what did, the engine withdraws."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.delivery.flow import settle
from hub.delivery.withdrawal import BY_APPLICANT
from hub.model.states import FINAL, DeliveryState
from hub.model.timelimits import Clock
from hub.ops import audit
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store
from hub.store import events
from hub.store.types import utcnow

log = structlog.get_logger("hub.cancellation")


@dataclass
class CancelRequest:
    """What a cancellation did at once, and what it left to the departments."""

    cancelled: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    decided: list[str] = field(default_factory=list)


async def request_cancel(
    engine: AsyncEngine, application_id: str, clock: Clock, *, by: audit.Actor = audit.HUB
) -> CancelRequest | None:
    """Cancel every undecided step of an application (the applicant's withdrawal, audited with
    `by`); None if there is no such application.

    A step that never left the hub is cancelled at once. A step a department holds (or may
    hold) is marked for cancellation, which the dispatcher carries out through the adapter.
    """
    now = utcnow()
    outcome = CancelRequest()
    async with engine.begin() as conn:
        application = await app_store.get_application(conn, application_id)
        if application is None:
            return None
        for row in await app_store.deliveries_of(conn, application_id):
            state = DeliveryState(row["state"])
            if state in FINAL:
                outcome.decided.append(row["step"])
            elif state is DeliveryState.WAITING or (
                state in (DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.DEAD)
                and not row["in_doubt"]
                and row["locked_by"] is None
            ):
                await delivery_store.set_state(
                    conn,
                    row["id"],
                    DeliveryState.CANCELLED,
                    now,
                    decided_at=now,
                    last_error_code=BY_APPLICANT,
                    last_error_message="cancelled before it was sent",
                )
                await events.delivery_changed(
                    conn, row, DeliveryState.CANCELLED, now, code=BY_APPLICANT
                )
                outcome.cancelled.append(row["step"])
            else:
                await delivery_store.set_state(
                    conn, row["id"], state, now, cancel_requested_at=now, next_attempt_at=None
                )
                outcome.asked.append(row["step"])
        await settle(conn, application_id, now, clock)
        if outcome.cancelled or outcome.asked:  # nothing to withdraw is no act
            await audit.record(
                conn,
                by,
                "application.withdraw",
                application["reference"],
                {"cancelled": outcome.cancelled, "asked": outcome.asked},
                application_id=application_id,
            )
    log.info("application.cancel_requested", application_id=application_id, asked=outcome.asked)
    return outcome
