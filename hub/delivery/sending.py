"""Sending a delivery: payload built once, quick retries, then accepted, refused or rescheduled."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import structlog
import tenacity
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.delivery.calls import HELD_BACK, CallResult, HeldBack, Then
from hub.delivery.jobs import RELEASED, Job, Work
from hub.model.departments import RetryPolicy
from hub.model.record import ApplicationRecord
from hub.model.states import FINAL, DeliveryState
from hub.ops.privacy import scrub_text
from hub.plugin.adapter import Payload, PermanentError, Receipt, TransientError, supports
from hub.store import applications as app_store
from hub.store import attempts as attempt_store
from hub.store import deliveries as delivery_store
from hub.store.types import utcnow

log = structlog.get_logger("hub.sending")


def scheduled_backoff(policy: RetryPolicy, attempts: int) -> float:
    """Seconds until the next scheduled try: doubling per claim that failed, capped, jittered."""
    rounds = max(0, attempts // policy.quick_attempts - 1)
    delay: float = min(policy.backoff_max, policy.backoff * 2.0**rounds)
    return delay + random.uniform(0, policy.jitter)


def _wait(policy: RetryPolicy) -> Any:
    exponential = tenacity.wait_exponential_jitter(
        multiplier=policy.quick_backoff, max=policy.quick_backoff_max, jitter=policy.jitter
    )

    def wait(state: tenacity.RetryCallState) -> float:
        # A department's Retry-After is honoured inside one claim as well as between claims.
        error = state.outcome.exception() if state.outcome else None
        asked = error.retry_after if isinstance(error, TransientError) else None
        return max(float(exponential(state)), asked or 0.0)

    return wait


def _stop(policy: RetryPolicy, halted: Any) -> Any:
    def stop(state: tenacity.RetryCallState) -> bool:
        if halted():  # the department's breaker opened: no more calls until its probe
            return True
        error = state.outcome.exception() if state.outcome else None
        # A long Retry-After is not waited out while holding a lease: it is scheduled instead.
        too_long = (
            isinstance(error, TransientError)
            and (error.retry_after or 0) > policy.quick_backoff_max
        )
        return too_long or state.attempt_number >= policy.quick_attempts

    return stop


class Sender:
    """Carries a due delivery to its department."""

    def __init__(self, work: Work) -> None:
        self.work = work

    async def send(self, job: Job) -> None:
        """Take one claimed delivery as far as it goes now: accepted, refused or rescheduled."""
        prepared = await self._payload(job)
        if prepared is None:
            return
        payload, unsaved = prepared
        if job.row["in_doubt"]:
            async with self.work.engine.begin() as conn:
                # A crash left its call unfinished: the sync log says so before anything else.
                await attempt_store.mark_interrupted(conn, job.row["id"])
        try:
            found = await self._send_with_quick_retries(job, payload, unsaved)
        except PermanentError as error:
            await self._reject(job, error)
        except TransientError as error:
            await self._reschedule(job, error)
        else:
            if found is not None:
                await self.accept(job, found)

    async def _payload(self, job: Job) -> tuple[Payload, dict[str, Any]] | None:
        """The stored payload, or build it now: it is built once per delivery, and stored by the
        transaction that begins its first call (so before anything is sent), saving one of its
        own. The values still to store come along, empty when the payload was stored already."""
        row = job.row
        if row["payload"] is not None:
            payload = Payload(row["payload_operation"], row["payload"], row["payload_content_type"])
            return payload, {}
        async with self.work.engine.connect() as conn:
            stored = await app_store.versioned_record_of(conn, row["application_id"])
        try:
            assert stored is not None  # a delivery's application is never deleted
            record = ApplicationRecord.model_validate(stored[0])
            payload = job.adapter.prepare(record, job.step, job.context)
        except PermanentError as error:
            await self._fail(job, error.code, error.message)
            return None
        except Exception as error:
            log.exception("delivery.prepare_failed")
            await self._fail(job, "prepare_failed", f"{type(error).__name__}: {error}")
            return None
        return payload, {
            "payload": payload.body,
            "payload_operation": payload.operation,
            "payload_content_type": payload.content_type,
            "payload_sha256": payload.sha256,
            # The version this payload was built from is what the department is sent: it is
            # stored with the payload, in the same write, so the two never disagree.
            "record_version": stored[1],
        }

    async def _send_with_quick_retries(
        self, job: Job, payload: Payload, unsaved: dict[str, Any]
    ) -> Receipt | None:
        """Send until accepted, refused, or out of quick tries. An acceptance is written with
        the end of the call that got it (None is returned); a receipt is returned where a
        lookup found that an earlier send arrived, for the caller to accept."""
        row, adapter, calls = job.row, job.adapter, self.work.calls
        accepting = self._accepting(job)
        number = row["attempts"]
        retrying = tenacity.AsyncRetrying(
            stop=_stop(job.department.retry, lambda: row["department"] in calls.tripped),
            wait=_wait(job.department.retry),
            retry=tenacity.retry_if_exception_type(TransientError),
            reraise=True,
        )
        # In doubt: an earlier send may have arrived. Where the adapter can look, it looks before
        # sending again; where it cannot, the department deduplicates on the delivery key.
        doubt = bool(row["in_doubt"]) and supports(adapter, "lookup")
        async for try_ in retrying:
            with try_:
                if doubt:
                    found = await self.lookup(job)
                    if found is not None:
                        return found
                    doubt = False
                try:
                    result = await calls.call(
                        row,
                        "submit",
                        lambda: adapter.send(payload, job.context),
                        number=number + 1,
                        payload_sha256=payload.sha256,
                        store=unsaved,
                        then=accepting,
                    )
                except HeldBack as held:
                    # Decided before the breaker opened (or the pause began), due after: held back.
                    raise held.transient(outcome_unknown=doubt) from None
                number += 1
                unsaved = {}  # stored with the call's first row: later tries send the same bytes
                if isinstance(result.error, TransientError) and result.error.outcome_unknown:
                    doubt = supports(adapter, "lookup")
                if result.error is not None:
                    raise result.error
                self._accepted(result.value, result.moved)
                return None
        raise AssertionError("tenacity ends with a result or the last error")

    async def lookup(self, job: Job) -> Receipt | None:
        """Ask the department whether an earlier send arrived.

        A lookup that fails answers nothing: the doubt stays, and a TransientError says so,
        because sending again without knowing would register the filing twice.
        """
        try:
            result = await self.work.calls.call(
                job.row, "lookup", lambda: job.adapter.lookup(job.row["delivery_key"])
            )
        except HeldBack as held:
            raise held.transient(outcome_unknown=True) from None
        if result.error is not None:
            raise TransientError(
                result.error.code,
                f"lookup failed, so the earlier send is still in doubt: {result.error.message}",
                http_status=result.error.http_status,
                fault_code=result.error.fault_code,
                retry_after=getattr(result.error, "retry_after", None),
                outcome_unknown=True,
            )
        log.info("delivery.lookup", found=result.value is not None)
        found: Receipt | None = result.value
        return found

    async def accept(self, job: Job, receipt: Receipt) -> None:
        """Store the receipt, release the steps waiting for it, and schedule the first poll."""
        async with self.work.engine.begin() as conn:
            moved = await self._write_acceptance(conn, job, receipt)
        self._accepted(receipt, moved)

    def _accepting(self, job: Job) -> Then:
        """What writes an acceptance with the end of the call that got it."""

        async def then(conn: AsyncConnection, result: CallResult) -> bool:
            if result.error is not None:
                return False  # a retry, a refusal or a reschedule: each written by its own path
            return await self._write_acceptance(conn, job, result.value)

        return then

    def _accepted(self, receipt: Receipt, moved: bool) -> None:
        if moved:
            self.work.wake()
        log.info("delivery.accepted", reference=receipt.reference)

    async def _write_acceptance(self, conn: AsyncConnection, job: Job, receipt: Receipt) -> bool:
        """The receipt stored, the steps waiting for it released, the first poll scheduled."""
        now = utcnow()
        first_poll = now + timedelta(seconds=job.department.status.poll_interval)

        def accepted(current: RowMapping) -> dict[str, Any]:
            values: dict[str, Any] = {
                **RELEASED,
                "receipt_reference": receipt.reference,
                "outputs": {
                    **(current["outputs"] or {}),
                    **receipt.outputs,
                    "reference": receipt.reference,
                },
                "in_doubt": False,
                "next_attempt_at": None,
                "last_error_code": None,
                "last_error_message": None,
            }
            if current["state"] != DeliveryState.PENDING:
                return values  # a callback told its decision before the answer came back: kept
            state = DeliveryState(receipt.state)
            return values | {
                "state": state,
                "polls_unchanged": 0,
                "next_poll_at": None if state in FINAL else first_poll,
                # A decision given with the receipt is a decision all the same (its date shows).
                "decided_at": now if state in FINAL else None,
            }

        return await self.work.write(conn, job.row, now, accepted)

    async def _reject(self, job: Job, error: PermanentError) -> None:
        """The department refused the content: final, with its own code and message."""
        message = scrub_text(error.message)
        now = utcnow()
        await self.work.finish(
            job.row,
            now,
            {
                **RELEASED,
                "state": DeliveryState.REJECTED,
                # Refused at submission is a decision (不予受理): its date is the refusal's.
                "decided_at": now,
                "department_code": error.code,
                "department_message": message,
                "last_error_code": error.code,
                "last_error_message": message,
                "in_doubt": False,
            },
            code=error.code,
            message=message,
        )
        log.warning("delivery.rejected", error_code=error.code)

    async def _fail(self, job: Job, code: str, message: str) -> None:
        """The hub could not build the delivery: an operator must mend the mapping or config."""
        message = scrub_text(message)
        await self.work.finish(
            job.row,
            utcnow(),
            {
                **RELEASED,
                "state": DeliveryState.FAILED,
                "last_error_code": code,
                "last_error_message": message,
            },
            code=code,
            message=message,
        )
        log.error("delivery.failed", error_code=code)

    async def _reschedule(self, job: Job, error: TransientError) -> None:
        """Schedule the next try in the store, or past the policy's limits make it a dead letter."""
        now = utcnow()
        async with self.work.engine.connect() as conn:
            current = await delivery_store.get(conn, job.row["id"])
        assert current is not None
        policy = job.department.retry
        first = current["first_attempt_at"] or now
        too_old = (now - first).total_seconds() >= policy.max_age
        values: dict[str, Any] = {**RELEASED, "in_doubt": error.outcome_unknown}
        message = scrub_text(error.message)
        if error.code not in HELD_BACK:  # the failure before says more than the hold-back
            values |= {"last_error_code": error.code, "last_error_message": message}
        dead = current["attempts"] - current["retry_base"] >= policy.max_attempts or too_old
        if dead:
            values |= {"state": DeliveryState.DEAD, "next_attempt_at": None}
        else:
            delay = max(scheduled_backoff(policy, current["attempts"]), error.retry_after or 0.0)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        await self.work.finish(job.row, now, values, code=error.code, message=message)
        if dead:
            log.error("delivery.dead", error_code=error.code, attempts=current["attempts"])
        else:
            log.info(
                "delivery.retry_scheduled",
                error_code=error.code,
                at=values["next_attempt_at"].isoformat(),
            )
