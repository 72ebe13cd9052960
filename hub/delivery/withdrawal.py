"""Withdrawing a filing a department holds, through its adapter, when the applicant cancels."""

from __future__ import annotations

from datetime import timedelta

from hub.delivery.calls import HeldBack
from hub.delivery.jobs import RELEASED, Job, Work
from hub.delivery.sending import Sender, scheduled_backoff
from hub.model.states import UNDECIDED, DeliveryState
from hub.ops.privacy import scrub_text
from hub.plugin.adapter import PermanentError, Receipt, TransientError, supports
from hub.store.types import utcnow

BY_APPLICANT = "cancelled_by_applicant"


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
        if row["state"] in UNDECIDED:
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
            await self.work.finish(
                row,
                utcnow(),
                {
                    **RELEASED,
                    "cancel_requested_at": None,
                    "last_error_code": "cancel_unsupported",
                    "last_error_message": f"{row['department']} cannot withdraw a filing",
                },
            )
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
            message = scrub_text(result.error.message)
            await self.work.finish(
                row,
                utcnow(),
                {
                    **RELEASED,
                    "cancel_requested_at": None,
                    "next_poll_at": utcnow(),
                    "last_error_code": result.error.code,
                    "last_error_message": message,
                },
            )
        else:
            await self._cancelled(job, "withdrawn at the department")

    async def _cancelled(self, job: Job, message: str) -> None:
        now = utcnow()
        values = {
            **RELEASED,
            "state": DeliveryState.CANCELLED,
            "cancel_requested_at": None,
            "next_poll_at": None,
            "decided_at": now,
            "in_doubt": False,
        }
        await self.work.finish(job.row, now, values, code=BY_APPLICANT, message=message)

    async def _later(self, job: Job, error: TransientError) -> None:
        delay = max(scheduled_backoff(job.department.retry, 0), error.retry_after or 0.0)
        await self.work.finish(
            job.row,
            utcnow(),
            {**RELEASED, "next_attempt_at": utcnow() + timedelta(seconds=delay)},
        )
