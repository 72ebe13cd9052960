"""Status collection: each department's decisions, asked for on a schedule or pushed by callback."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.delivery.callbacks import MAX_SKEW
from hub.delivery.calls import CallResult, HeldBack
from hub.delivery.jobs import RELEASED, Job, Work, moved
from hub.model.configuration import HubConfig
from hub.model.departments import StatusPolicy
from hub.model.states import FINAL, DeliveryState
from hub.ops.privacy import scrub_text
from hub.plugin.adapter import DepartmentState, DepartmentStatus, Receipt
from hub.store import deliveries as delivery_store
from hub.store.tables import callbacks_seen
from hub.store.types import utcnow

log = structlog.get_logger("hub.status")


def next_poll(policy: StatusPolicy, unchanged: int, now: datetime) -> datetime:
    """When to ask next: the interval doubles while nothing changes, up to its cap. A department
    that pushes its decisions is asked only at the cap, as a safety net for lost callbacks."""
    if policy.callbacks:
        return now + timedelta(seconds=policy.poll_interval_max)
    seconds = min(policy.poll_interval_max, policy.poll_interval * 2.0 ** min(unchanged, 30))
    return now + timedelta(seconds=seconds)


def status_values(
    row: RowMapping, status: DepartmentStatus, now: datetime, policy: StatusPolicy
) -> dict[str, Any]:
    """The columns a department's status changes; nothing once the delivery is decided."""
    if row["state"] in FINAL:
        return {}
    # An answer of "pending" from a department that holds the filing means: not looked at yet.
    state = (
        DeliveryState.SUBMITTED
        if status.state is DepartmentState.PENDING
        else DeliveryState(status.state)
    )
    changed = state != row["state"] or status.code != row["department_code"]
    values: dict[str, Any] = {
        "state": state,
        "department_code": status.code,
        "department_message": scrub_text(status.message) if status.message else None,
        "outputs": {**(row["outputs"] or {}), **status.outputs},
    }
    if state is DeliveryState.NEEDS_CORRECTION and row["state"] != state:
        values["correction_requests"] = row["correction_requests"] + 1
    if state in FINAL:
        return values | {"next_poll_at": None, "decided_at": now}
    unchanged = 0 if changed else row["polls_unchanged"] + 1
    return values | {
        "polls_unchanged": unchanged,
        "next_poll_at": next_poll(policy, unchanged, now),
    }


class Poller:
    """Asks a department how far it has got with a filing it accepted."""

    def __init__(self, work: Work) -> None:
        self.work = work

    async def poll(self, job: Job) -> None:
        """One status query: the answer moves the delivery on; a failure only delays the next."""
        row, policy = job.row, job.department.status
        receipt = Receipt(row["receipt_reference"], row["outputs"] or {})

        async def answered(conn: AsyncConnection, result: CallResult) -> bool:
            """The answer, or the failure, written with the query's end."""
            now = utcnow()
            if result.error is not None:
                unchanged = row["polls_unchanged"] + 1
                later = {
                    "polls_unchanged": unchanged,
                    "next_poll_at": next_poll(policy, unchanged, now),
                }
                return await self.work.write(conn, row, now, {**RELEASED, **later})
            status: DepartmentStatus = result.value
            return await self.work.write(
                conn,
                row,
                now,
                lambda current: {**RELEASED, **status_values(current, status, now, policy)},
                code=status.code,
                message=scrub_text(status.message) if status.message else None,
            )

        try:
            result = await self.work.calls.call(
                row, "query", lambda: job.adapter.query_status(receipt), then=answered
            )
        except HeldBack:  # paused, or its breaker open: asked again later
            later = {**RELEASED, "next_poll_at": utcnow() + timedelta(seconds=policy.poll_interval)}
            await self.work.finish(row, utcnow(), later)
            return
        if result.moved:
            self.work.wake()


async def apply_pushed_status(
    engine: AsyncEngine,
    config: HubConfig,
    department: str,
    reference: str,
    status: DepartmentStatus,
    *,
    signature: str,
    now: datetime,
) -> bool:
    """A decision a department pushed by callback; False (and nothing stored) if no delivery
    has that reference. A signature seen before raises IntegrityError: a replayed callback."""
    try:
        async with engine.begin() as conn:
            await _seen(conn, signature, department, now)
            row = await delivery_store.by_reference(conn, department, reference)
            if row is None:
                raise _UnknownReceipt  # rolls the transaction back: nothing is kept
            await _apply(conn, config, row, status, now)
    except _UnknownReceipt:
        return False
    log.info("status.pushed", department=department, state=status.state, code=status.code)
    return True


class _UnknownReceipt(Exception):
    pass


async def _seen(conn: AsyncConnection, signature: str, department: str, now: datetime) -> None:
    """Remember a callback's signature while its timestamp is fresh (a repeat is a replay)."""
    await conn.execute(
        callbacks_seen.delete().where(callbacks_seen.c.at < now - timedelta(seconds=2 * MAX_SKEW))
    )
    await conn.execute(
        callbacks_seen.insert().values(signature=signature, department=department, at=now)
    )


async def _apply(
    conn: AsyncConnection,
    config: HubConfig,
    row: RowMapping,
    status: DepartmentStatus,
    now: datetime,
) -> None:
    values = status_values(row, status, now, config.departments[row["department"]].status)
    if values:
        state = values.pop("state")
        await delivery_store.set_state(conn, row["id"], state, now, **values)
        message = scrub_text(status.message) if status.message else None
        await moved(conn, row, state, now, config.clock, code=status.code, message=message)
