"""The dispatcher: claims due deliveries and carries each to its department through its adapter.

Each hub process runs one. Work is claimed from the store under a lease, so any number of
processes share it; a department's concurrency limit counts the leases of all of them. Every
call is a sync-log row written before the call goes out, and finished when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
import tenacity
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentError,
    Payload,
    PermanentError,
    Receipt,
    TransientError,
    supports,
)
from hub.catalog import Step
from hub.config import HubConfig
from hub.delivery import DeliveryState
from hub.departments import Department, RetryPolicy
from hub.flow import settle
from hub.privacy import scrub_text
from hub.record import ApplicationRecord
from hub.store import applications as app_store
from hub.store import attempts as attempt_store
from hub.store import breakers as breaker_store
from hub.store import deliveries as delivery_store
from hub.store import events
from hub.store.breakers import BreakerState
from hub.store.types import utcnow
from hub.transports.exchange import Exchange, recording

log = structlog.get_logger("hub.dispatch")


BREAKER_OPEN = "breaker_open"


class LeaseLost(Exception):
    """Another process took the delivery over; this one must stop touching it."""


def worker_name() -> str:
    """host:pid:random — unique per process, readable in the sync log."""
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**4):04x}"


def lease_for(department: Department, margin: float) -> timedelta:
    """Long enough for every quick try and wait of one claim, plus a margin."""
    policy = department.retry
    seconds = policy.quick_attempts * (
        department.timeout + policy.quick_backoff_max + policy.jitter
    )
    return timedelta(seconds=seconds + margin)


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


@dataclass
class _Try:
    """What one call to a department came to, for its sync-log row."""

    outcome: str
    receipt: Receipt | None = None
    error: DepartmentError | None = None


class Dispatcher:
    """Carries due deliveries to their departments; one per hub process."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: HubConfig,
        adapters: Mapping[str, Adapter],
        *,
        worker: str | None = None,
    ) -> None:
        self.engine = engine
        self.departments: Mapping[str, Department] = config.departments
        self.adapters = adapters
        self.settings = config.settings.dispatch
        self.clock = config.clock
        self.worker = worker or worker_name()
        self.wake = asyncio.Event()
        self.stopping = False
        self.in_flight: Counter[str] = Counter()
        self.breakers: dict[str, RowMapping] = {}
        self.tripped: set[str] = set()
        self.probes: dict[str, str] = {}  # department → the delivery this process probes with
        self.success_noted: dict[str, float] = defaultdict(float)
        self.tasks: set[asyncio.Task[None]] = set()
        self.running = False

    def notify(self) -> None:
        """Look for work now (a filing was committed, a delivery released or replayed)."""
        self.wake.set()

    async def run(self) -> None:
        """Claim and carry until stop() is called."""
        self.running = True
        log.info("dispatcher.started", worker=self.worker)
        try:
            while not self.stopping:
                self.wake.clear()
                try:
                    await self._claim_and_start()
                except Exception:
                    log.exception("dispatcher.claim_failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.settings.poll_interval)
        finally:
            self.running = False

    async def stop(self) -> None:
        """Stop claiming, let calls in flight finish up to the deadline, give back every lease."""
        self.stopping = True
        self.wake.set()
        if self.tasks:
            _, late = await asyncio.wait(set(self.tasks), timeout=self.settings.shutdown_deadline)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        async with self.engine.begin() as conn:
            released = await delivery_store.release_all(conn, self.worker)
        log.info("dispatcher.stopped", worker=self.worker, leases_released=released)

    async def _claim_and_start(self) -> None:
        now = utcnow()
        async with self.engine.connect() as conn:
            due = await delivery_store.due_departments(conn, now)
            breakers = await breaker_store.all_breakers(conn)
            await conn.commit()
        self.breakers = breakers
        for code, breaker in breakers.items():
            if breaker["state"] != BreakerState.CLOSED:
                self.tripped.add(code)  # perhaps opened by another process
        for code in due:
            department = self.departments.get(code)
            if department is None or code not in self.adapters:
                continue
            if self.in_flight[code] >= department.concurrency:
                continue
            lease = lease_for(department, self.settings.lease_margin)
            most = None
            async with self.engine.begin() as conn:
                seen = breakers.get(code)
                if seen is not None and seen["state"] != BreakerState.CLOSED:
                    # Open (or being probed by another process): only the probe's taker calls.
                    if not await breaker_store.take_probe(conn, code, self.worker, now, lease):
                        continue
                    log.info("breaker.probing", department=code)
                    self.tripped.discard(code)  # this process's next call is the probe
                    most = 1
                ids = await delivery_store.claim(
                    conn,
                    code,
                    worker=self.worker,
                    limit=department.concurrency,
                    lease=lease,
                    now=now,
                    most=most,
                )
                if most == 1 and not ids:  # nothing to probe with after all: let it be taken later
                    await breaker_store.give_back_probe(conn, code, self.worker, now)
            if most == 1 and ids:
                self.probes[code] = ids[0]
            for delivery_id in ids:
                self.in_flight[code] += 1
                task = asyncio.create_task(self._carry_logged(delivery_id, code))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def _carry_logged(self, delivery_id: str, department: str) -> None:
        try:
            with structlog.contextvars.bound_contextvars(
                delivery_id=delivery_id, department=department, worker=self.worker
            ):
                await self.carry(delivery_id)
        except LeaseLost:
            log.warning("delivery.lease_lost")
        except asyncio.CancelledError:
            log.warning("delivery.interrupted")
            raise
        except Exception:
            log.exception("delivery.crashed")
            async with self.engine.begin() as conn:
                await delivery_store.release_lease(conn, delivery_id, self.worker)
        finally:
            self.in_flight[department] -= 1
            self.wake.set()

    async def carry(self, delivery_id: str) -> None:
        """Take one claimed delivery as far as it goes now: accepted, refused or rescheduled."""
        async with self.engine.connect() as conn:
            row = await delivery_store.get(conn, delivery_id)
            application = (
                await app_store.get_application(conn, row["application_id"]) if row else None
            )
            await conn.commit()
        if row is None or application is None or row["locked_by"] != self.worker:
            raise LeaseLost
        structlog.contextvars.bind_contextvars(application_id=row["application_id"])
        adapter = self.adapters[row["department"]]
        step = Step(
            name=row["step"],
            department=row["department"],
            operation=row["operation"],
            after=tuple(row["after"]),
            uses=row["uses"],
        )
        context = DeliveryContext(row["application_id"], row["delivery_key"], row["inputs"] or {})
        payload = await self._payload(row, application, adapter, step, context)
        if payload is None:
            return
        if row["in_doubt"]:
            async with self.engine.begin() as conn:
                # A crash left its call unfinished: the sync log says so before anything else.
                await attempt_store.mark_interrupted(conn, row["id"])
        try:
            receipt = await self._send_with_quick_retries(row, adapter, payload, context)
        except PermanentError as error:
            await self._reject(row, error)
        except TransientError as error:
            await self._reschedule(row, error)
        else:
            await self._accept(row, receipt)

    async def _payload(
        self,
        row: RowMapping,
        application: RowMapping,
        adapter: Adapter,
        step: Step,
        context: DeliveryContext,
    ) -> Payload | None:
        """The stored payload, or build and store it now: it is built once per delivery."""
        if row["payload"] is not None:
            return Payload(row["payload_operation"], row["payload"], row["payload_content_type"])
        try:
            record = ApplicationRecord.model_validate(application["record"])
            payload = adapter.prepare(record, step, context)
        except PermanentError as error:
            await self._fail(row, error.code, error.message)
            return None
        except Exception as error:
            log.exception("delivery.prepare_failed")
            await self._fail(row, "prepare_failed", f"{type(error).__name__}: {error}")
            return None
        async with self.engine.begin() as conn:
            stored = await delivery_store.update_leased(
                conn,
                row["id"],
                self.worker,
                {
                    "payload": payload.body,
                    "payload_operation": payload.operation,
                    "payload_content_type": payload.content_type,
                    "payload_sha256": payload.sha256,
                    "updated_at": utcnow(),
                },
            )
        if not stored:
            raise LeaseLost
        return payload

    async def _send_with_quick_retries(
        self, row: RowMapping, adapter: Adapter, payload: Payload, context: DeliveryContext
    ) -> Receipt:
        policy = self.departments[row["department"]].retry
        number = row["attempts"]
        retrying = tenacity.AsyncRetrying(
            stop=_stop(policy, lambda: row["department"] in self.tripped),
            wait=_wait(policy),
            retry=tenacity.retry_if_exception_type(TransientError),
            reraise=True,
        )
        # In doubt: an earlier send may have arrived. Where the adapter can look, it looks before
        # sending again; where it cannot, the department deduplicates on the delivery key.
        doubt = bool(row["in_doubt"]) and supports(adapter, "lookup")
        async for try_ in retrying:
            with try_:
                if not await self._breaker_allows(row["department"], row["id"]):
                    # Decided before the breaker opened, due after: it does not go out.
                    raise TransientError(
                        BREAKER_OPEN,
                        f"{row['department']}'s circuit breaker is open",
                        outcome_unknown=doubt,
                    )
                if doubt:
                    receipt = await self._lookup(row, adapter)
                    if receipt is not None:
                        return receipt
                    doubt = False
                number += 1
                result = await self._call(
                    row, number, "submit", payload.sha256, lambda: adapter.send(payload, context)
                )
                if isinstance(result.error, TransientError) and result.error.outcome_unknown:
                    doubt = supports(adapter, "lookup")
                if result.error is not None:
                    raise result.error
                assert result.receipt is not None
                return result.receipt
        raise AssertionError("tenacity ends with a result or the last error")

    async def _breaker_allows(self, code: str, delivery_id: str) -> bool:
        """Whether this delivery may call its department now: the breaker is closed, or this
        is the probe. Read from the store, since any process may have opened it."""
        async with self.engine.connect() as conn:
            breaker = await breaker_store.get(conn, code)
        if breaker is None or breaker["state"] == BreakerState.CLOSED:
            return True
        self.tripped.add(code)
        return (
            breaker["state"] == BreakerState.HALF_OPEN
            and breaker["probe_by"] == self.worker
            and self.probes.get(code) == delivery_id
        )

    async def _lookup(self, row: RowMapping, adapter: Adapter) -> Receipt | None:
        """Ask the department whether an earlier send arrived.

        A lookup that fails answers nothing: the doubt stays, and a TransientError says so,
        because sending again without knowing would register the filing twice.
        """
        result = await self._call(
            row, None, "lookup", None, lambda: adapter.lookup(row["delivery_key"])
        )
        if result.error is not None:
            raise TransientError(
                result.error.code,
                f"lookup failed, so the earlier send is still in doubt: {result.error.message}",
                http_status=result.error.http_status,
                fault_code=result.error.fault_code,
                retry_after=getattr(result.error, "retry_after", None),
                outcome_unknown=True,
            )
        log.info("delivery.lookup", found=result.receipt is not None)
        return result.receipt

    async def _call(
        self,
        row: RowMapping,
        number: int | None,
        kind: str,
        payload_sha256: str | None,
        call: Any,
    ) -> _Try:
        """One call to a department, recorded in the sync log before it goes and when it ends."""
        department = self.departments[row["department"]]
        started = utcnow()
        values: dict[str, Any] = {
            "locked_until": started + lease_for(department, self.settings.lease_margin),
            "updated_at": started,
        }
        if kind == "submit":
            values |= {"attempts": number, "in_doubt": True}
            if row["first_attempt_at"] is None:
                values["first_attempt_at"] = started
        async with self.engine.begin() as conn:
            if not await delivery_store.update_leased(conn, row["id"], self.worker, values):
                raise LeaseLost
            attempt_id = await attempt_store.begin(
                conn,
                {
                    "delivery_id": row["id"],
                    "application_id": row["application_id"],
                    "department": row["department"],
                    "kind": kind,
                    "number": number or row["attempts"],
                    "worker": self.worker,
                    "started_at": started,
                    "payload_sha256": payload_sha256,
                },
            )
        with structlog.contextvars.bound_contextvars(attempt=number, call=kind):
            start = time.perf_counter()
            with recording() as exchanges:
                result = await self._outcome(call, kind)
            duration_ms = (time.perf_counter() - start) * 1000
            await self._finish(attempt_id, row["department"], result, exchanges, duration_ms)
        return result

    async def _outcome(self, call: Any, kind: str) -> _Try:
        try:
            value = await call()
        except PermanentError as error:
            return _Try("permanent", error=error)
        except TransientError as error:
            return _Try("transient", error=error)
        except Exception as error:
            # An adapter bug after the department may have answered: treat the outcome as unknown.
            log.exception("attempt.adapter_error")
            return _Try(
                "transient",
                error=TransientError(
                    "adapter_error", f"{type(error).__name__}: {error}", outcome_unknown=True
                ),
            )
        if kind == "lookup":
            return _Try("found" if value is not None else "not_found", receipt=value)
        return _Try("accepted", receipt=value)

    async def _breaker_after(self, conn: AsyncConnection, code: str, result: _Try) -> None:
        """Count a failure towards the department's breaker, or close it on an answer."""
        now = utcnow()
        if result.outcome == "transient":
            assert result.error is not None
            policy = self.departments[code].breaker
            state = await breaker_store.record_failure(
                conn,
                code,
                result.error.code,
                threshold=policy.failures,
                cooldown=timedelta(seconds=policy.cooldown),
                now=now,
            )
            if state is BreakerState.OPEN and code not in self.tripped:
                self.tripped.add(code)
                log.warning("breaker.opened", department=code, cooldown=policy.cooldown)
            return
        seen = self.breakers.get(code)
        clean = seen is None or (seen["state"] == BreakerState.CLOSED and seen["failures"] == 0)
        # A healthy department's time of last success is refreshed at most once a second.
        if clean and code not in self.tripped and time.monotonic() - self.success_noted[code] < 1:
            return
        self.success_noted[code] = time.monotonic()
        if await breaker_store.record_success(conn, code, now):
            log.info("breaker.closed", department=code)
        self.tripped.discard(code)

    async def _finish(
        self,
        attempt_id: int,
        department: str,
        result: _Try,
        exchanges: list[Exchange],
        duration_ms: float,
    ) -> None:
        last = exchanges[-1] if exchanges else None
        error = result.error
        values: dict[str, Any] = {
            "outcome": result.outcome,
            "duration_ms": round(duration_ms, 3),
            "error_code": error.code if error else None,
            "error_message": scrub_text(error.message)[:2000] if error else None,
            "http_status": (error.http_status if error and error.http_status else None)
            or (last.http_status if last else None),
            "fault_code": error.fault_code if error else None,
            "request_bytes": sum(e.request_size for e in exchanges) if exchanges else None,
            "response_bytes": sum(e.response_size or 0 for e in exchanges) if exchanges else None,
            "request_sha256": last.request_sha256 if last else None,
            "response_sha256": last.response_sha256 if last else None,
        }
        async with self.engine.begin() as conn:
            await attempt_store.finish(conn, attempt_id, values)
            await self._breaker_after(conn, department, result)
        log.info(
            "attempt.finished",
            outcome=result.outcome,
            error_code=values["error_code"],
            http_status=values["http_status"],
            duration_ms=values["duration_ms"],
            request_bytes=values["request_bytes"],
            response_bytes=values["response_bytes"],
        )

    async def _accept(self, row: RowMapping, receipt: Receipt) -> None:
        """Store the receipt and release the steps that were waiting for it."""
        now = utcnow()
        outputs = {**receipt.outputs, "reference": receipt.reference}
        async with self.engine.begin() as conn:
            accepted = await delivery_store.update_leased(
                conn,
                row["id"],
                self.worker,
                {
                    "state": DeliveryState(receipt.state),
                    "receipt_reference": receipt.reference,
                    "outputs": outputs,
                    "in_doubt": False,
                    "locked_by": None,
                    "locked_until": None,
                    "next_attempt_at": None,
                    "last_error_code": None,
                    "last_error_message": None,
                    "updated_at": now,
                },
            )
            if not accepted:
                raise LeaseLost
            await events.delivery_changed(conn, row, receipt.state, now, code=None, message=None)
            await self._settled(conn, row["application_id"], now)
        log.info("delivery.accepted", reference=receipt.reference)

    async def _reject(self, row: RowMapping, error: PermanentError) -> None:
        """The department refused the content: final, with its own code and message."""
        now = utcnow()
        async with self.engine.begin() as conn:
            done = await delivery_store.update_leased(
                conn,
                row["id"],
                self.worker,
                {
                    "state": DeliveryState.REJECTED,
                    "department_code": error.code,
                    "department_message": scrub_text(error.message),
                    "last_error_code": error.code,
                    "last_error_message": scrub_text(error.message),
                    "in_doubt": False,
                    "locked_by": None,
                    "locked_until": None,
                    "updated_at": now,
                },
            )
            if not done:
                raise LeaseLost
            await events.delivery_changed(
                conn,
                row,
                DeliveryState.REJECTED,
                now,
                code=error.code,
                message=scrub_text(error.message),
            )
            await self._settled(conn, row["application_id"], now)
        log.warning("delivery.rejected", error_code=error.code)

    async def _fail(self, row: RowMapping, code: str, message: str) -> None:
        """The hub could not build the delivery: an operator must mend the mapping or config."""
        now = utcnow()
        async with self.engine.begin() as conn:
            done = await delivery_store.update_leased(
                conn,
                row["id"],
                self.worker,
                {
                    "state": DeliveryState.FAILED,
                    "last_error_code": code,
                    "last_error_message": scrub_text(message),
                    "locked_by": None,
                    "locked_until": None,
                    "updated_at": now,
                },
            )
            if not done:
                raise LeaseLost
            await events.delivery_changed(
                conn, row, DeliveryState.FAILED, now, code=code, message=scrub_text(message)
            )
            await self._settled(conn, row["application_id"], now)
        log.error("delivery.failed", error_code=code)

    async def _reschedule(self, row: RowMapping, error: TransientError) -> None:
        """Schedule the next try in the store, or past the policy's limits make it a dead letter."""
        now = utcnow()
        async with self.engine.connect() as conn:
            current = await delivery_store.get(conn, row["id"])
            await conn.commit()
        assert current is not None
        policy = self.departments[row["department"]].retry
        first = current["first_attempt_at"] or now
        too_old = (now - first).total_seconds() >= policy.max_age
        values: dict[str, Any] = {
            "in_doubt": error.outcome_unknown,
            "locked_by": None,
            "locked_until": None,
            "updated_at": now,
        }
        if error.code != BREAKER_OPEN:  # the failure that opened it says more than the breaker
            values |= {
                "last_error_code": error.code,
                "last_error_message": scrub_text(error.message),
            }
        if current["attempts"] - current["retry_base"] >= policy.max_attempts or too_old:
            values["state"] = DeliveryState.DEAD
            values["next_attempt_at"] = None
        else:
            delay = max(scheduled_backoff(policy, current["attempts"]), error.retry_after or 0.0)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        async with self.engine.begin() as conn:
            if not await delivery_store.update_leased(conn, row["id"], self.worker, values):
                raise LeaseLost
            if values.get("state") == DeliveryState.DEAD:
                await events.delivery_changed(
                    conn,
                    row,
                    DeliveryState.DEAD,
                    now,
                    code=error.code,
                    message=scrub_text(error.message),
                )
                await self._settled(conn, row["application_id"], now)
        if values.get("state") == DeliveryState.DEAD:
            log.error("delivery.dead", error_code=error.code, attempts=current["attempts"])
        else:
            log.info(
                "delivery.retry_scheduled",
                error_code=error.code,
                at=values["next_attempt_at"].isoformat(),
            )

    async def _settled(self, conn: AsyncConnection, application_id: str, now: datetime) -> None:
        await settle(conn, application_id, now, self.clock)
        self.wake.set()
