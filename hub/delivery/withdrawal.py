"""Withdrawing a filing a department holds, through its adapter: when the applicant cancels, or
when a step it was sent after on receipt ends refused (hub.delivery.flow)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select

from hub.delivery.calls import HeldBack
from hub.delivery.flow import UPSTREAM_REFUSED
from hub.delivery.jobs import RELEASED, Job, Work
from hub.delivery.sending import Sender, scheduled_backoff
from hub.model.states import (
    UNDECIDED,
    WITHDRAWAL_FAILED,
    WITHDRAWN_BECAUSE,
    DeliveryState,
)
from hub.ops.privacy import scrub_text
from hub.plugin.adapter import PermanentError, Receipt, TransientError, supports
from hub.store.tables import attempts
from hub.store.types import utcnow

BY_APPLICANT = "cancelled_by_applicant"

log = structlog.get_logger("hub.withdrawal")


def _because(job: Job) -> dict[str, str] | None:
    """The refused step a withdrawal is for; None when the applicant cancelled."""
    because: dict[str, str] | None = (job.row["flags"] or {}).get(WITHDRAWN_BECAUSE)
    return because


def _failed(job: Job, code: str, message: str, now: datetime) -> dict[str, Any]:
    """The delivery's flags with the withdrawal_failed flag an operator must act on."""
    flag: dict[str, Any] = {"code": code, "message": message, "at": now.isoformat()}
    because = _because(job)
    if because is not None:
        flag["because"] = because
    return {**(job.row["flags"] or {}), WITHDRAWAL_FAILED: flag}


class Canceller:
    """Carries out a cancellation a department must be asked for."""

    def __init__(self, work: Work, sender: Sender) -> None:
        self.work = work
        self.sender = sender

    async def cancel(self, job: Job) -> None:
        """Withdraw the filing at the department, or settle that there is nothing to withdraw."""
        row = job.row
        refused = await self.work.calls.refusal(row["department"], row["id"])
        if refused is not None:
            await self._later(job, HeldBack(refused, row["department"]).transient())
            return
        receipt = None
        # A pending delivery with a receipt is a withdrawal replayed after it was dead-lettered
        # (hub.delivery.deadletters), or a correction on its way: the department holds a filing.
        held = row["state"] == DeliveryState.PENDING and row["receipt_reference"] is not None
        if row["state"] in UNDECIDED or held:
            receipt = Receipt(row["receipt_reference"], row["outputs"] or {})
        elif row["in_doubt"] and supports(job.adapter, "lookup"):
            try:
                found = await self.sender.lookup(job)
            except TransientError as error:
                await self._later(job, error)
                return
            if found is not None:
                # The department has it: known as held first, then withdrawn on the next claim.
                await self.sender.accept(job, found)
                return
        if receipt is None:
            note = (
                "it may have reached the department, which cannot be asked"
                if row["in_doubt"]
                else ""
            )
            await self._cancelled(job, note or "cancelled before it reached the department")
            return
        if not supports(job.adapter, "cancel"):
            now, message = utcnow(), f"{row['department']} cannot withdraw a filing"
            await self.work.finish(
                row,
                now,
                {
                    **RELEASED,
                    "cancel_requested_at": None,
                    "last_error_code": "cancel_unsupported",
                    "last_error_message": message,
                    "flags": _failed(job, "cancel_unsupported", message, now),
                },
            )
            log.error("withdrawal.failed", error_code="cancel_unsupported")
            return
        try:
            result = await self.work.calls.call(row, "cancel", lambda: job.adapter.cancel(receipt))
        except HeldBack as held:  # paused or tripped since the check above
            await self._later(job, held.transient())
            return
        if isinstance(result.error, TransientError):
            await self._later(job, result.error)
        elif isinstance(result.error, PermanentError):
            # Refused: most often decided already. Ask for its status at once to learn which.
            # The department keeps the filing either way: the operators are told.
            now, message = utcnow(), scrub_text(result.error.message)
            await self.work.finish(
                row,
                now,
                {
                    **RELEASED,
                    "cancel_requested_at": None,
                    "next_poll_at": now,
                    "last_error_code": result.error.code,
                    "last_error_message": message,
                    "flags": _failed(job, result.error.code, message, now),
                },
            )
            log.error("withdrawal.failed", error_code=result.error.code)
        else:
            await self._cancelled(job, "withdrawn at the department")

    async def _cancelled(self, job: Job, message: str) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            **RELEASED,
            "state": DeliveryState.CANCELLED,
            "cancel_requested_at": None,
            "next_poll_at": None,
            "decided_at": now,
            "in_doubt": False,
        }
        because, code = _because(job), BY_APPLICANT
        if because is not None:  # the delivery says why, as one cancelled before it went does
            code = UPSTREAM_REFUSED
            message = f"{message}: step {because['step']} was {because['state']}"
            values |= {"last_error_code": code, "last_error_message": message}
        await self.work.finish(job.row, now, values, code=code, message=message)

    async def _later(self, job: Job, error: TransientError) -> None:
        """Try again later, like a send; past the retry policy's limits a dead letter, flagged
        withdrawal_failed, for an operator to replay (which asks for the withdrawal again)."""
        now, policy = utcnow(), job.department.retry
        tried = await self._tries(job)
        requested = job.row["cancel_requested_at"]
        too_old = requested is not None and (now - requested).total_seconds() >= policy.max_age
        if tried >= policy.max_attempts or too_old:
            message = scrub_text(error.message)
            await self.work.finish(
                job.row,
                now,
                {
                    **RELEASED,
                    "state": DeliveryState.DEAD,
                    "cancel_requested_at": None,
                    "next_attempt_at": None,
                    "next_poll_at": None,
                    "last_error_code": error.code,
                    "last_error_message": message,
                    "flags": _failed(job, error.code, message, now),
                },
                code=error.code,
                message=message,
            )
            log.error("withdrawal.dead", error_code=error.code, attempts=tried)
            return
        delay = max(scheduled_backoff(policy, tried), error.retry_after or 0.0)
        await self.work.finish(
            job.row, now, {**RELEASED, "next_attempt_at": now + timedelta(seconds=delay)}
        )

    async def _tries(self, job: Job) -> int:
        """How many times the department was asked to withdraw since the withdrawal was asked."""
        query = select(func.count()).where(
            attempts.c.delivery_id == job.row["id"], attempts.c.kind == "cancel"
        )
        if job.row["cancel_requested_at"] is not None:
            query = query.where(attempts.c.started_at >= job.row["cancel_requested_at"])
        async with self.work.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())
