"""Dead letters and replay: an operator sends a delivery again, under the same delivery key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.delivery.flow import UPSTREAM_REFUSED, settle
from hub.model.states import WITHDRAWAL_FAILED, DeliveryState
from hub.model.timelimits import Clock
from hub.ops import audit
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store
from hub.store import events
from hub.store.types import utcnow

log = structlog.get_logger("hub.deadletters")


@dataclass(frozen=True, slots=True)
class Replayed:
    """What became of one replay request."""

    delivery_id: str
    replayed: bool
    reason: str = ""


async def replay(
    engine: AsyncEngine, delivery_ids: Iterable[str], *, by: str | audit.Actor, clock: Clock
) -> list[Replayed]:
    """Make each dead (or failed) delivery due again; each in its own transaction (audited). A
    dead letter of a withdrawal (flagged withdrawal_failed) asks for the withdrawal again."""
    who = by if isinstance(by, audit.Actor) else audit.Actor(by)
    results = []
    for delivery_id in delivery_ids:
        now = utcnow()
        async with engine.begin() as conn:
            before = await delivery_store.replay(conn, delivery_id, now)
            if before is not None:
                flags = dict(before["flags"] or {})
                if flags.pop(WITHDRAWAL_FAILED, None) is not None and before["receipt_reference"]:
                    # A withdrawal dead-lettered: replayed, it is the withdrawal that goes again.
                    await delivery_store.set_state(
                        conn,
                        delivery_id,
                        DeliveryState.PENDING,
                        now,
                        cancel_requested_at=now,
                        flags=flags,
                    )
                await events.delivery_changed(
                    conn,
                    before,
                    DeliveryState.PENDING,
                    now,
                    code="replayed",
                    message=f"replayed by {who.person or who.client}",
                )
                await _reopen_cancelled_after(conn, before["application_id"], now)
                await settle(conn, before["application_id"], now, clock)
                await audit.record(
                    conn,
                    who,
                    "delivery.replay",
                    delivery_id,
                    {"was": before["state"], "step": before["step"]},
                    application_id=before["application_id"],
                )
        if before is None:
            async with engine.connect() as conn:
                row = await delivery_store.get(conn, delivery_id)
            reason = (
                "no such delivery" if row is None else f"it is {row['state']}, not dead or failed"
            )
            results.append(Replayed(delivery_id, False, reason))
            continue
        log.info(
            "delivery.replayed",
            delivery_id=delivery_id,
            department=before["department"],
            was=before["state"],
            by=who.client,
        )
        results.append(Replayed(delivery_id, True))
    return results


async def _reopen_cancelled_after(
    conn: AsyncConnection, application_id: str, now: datetime
) -> None:
    """The steps cancelled, never sent, because a step before them was dead or failed wait
    again: a replayed step may yet get through. Settling then cancels again any still blocked
    (by a refusal elsewhere); what was sent and withdrawn stays withdrawn."""
    for row in await app_store.deliveries_of(conn, application_id):
        never_sent = row["receipt_reference"] is None and not row["attempts"]
        if (
            row["state"] == DeliveryState.CANCELLED
            and row["last_error_code"] == UPSTREAM_REFUSED
            and never_sent
        ):
            await delivery_store.set_state(
                conn,
                row["id"],
                DeliveryState.WAITING,
                now,
                decided_at=None,
                last_error_code=None,
                last_error_message=None,
            )
            await events.delivery_changed(
                conn, row, DeliveryState.WAITING, now, code="replayed", message="waits again"
            )


async def dead_letter_ids(engine: AsyncEngine, department: str | None = None) -> list[str]:
    """Every dead letter's id, of one department or all."""
    ids: list[str] = []
    async with engine.connect() as conn:
        while True:
            page = await delivery_store.search(
                conn,
                states=["dead"],
                department=department,
                after_id=ids[-1] if ids else None,
                limit=500,
            )
            ids.extend(r["id"] for r in page)
            if len(page) < 500:
                return ids
