"""Every call to a department: a sync-log row before it goes out and when it ends, counted by the
department's circuit breaker, under the caller's lease."""

from __future__ import annotations

import os
import random
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.model.departments import Department
from hub.ops.metrics import Metrics
from hub.ops.privacy import scrub_text
from hub.plugin.adapter import DepartmentError, PermanentError, TransientError
from hub.store import attempts as attempt_store
from hub.store import breakers as breaker_store
from hub.store import deliveries as delivery_store
from hub.store.breakers import BreakerState
from hub.store.types import utcnow
from hub.transports.exchange import Exchange, recording

log = structlog.get_logger("hub.calls")

BREAKER_OPEN = "breaker_open"
DEPARTMENT_PAUSED = "department_paused"
HELD_BACK = frozenset({BREAKER_OPEN, DEPARTMENT_PAUSED})
"""Codes of tries the hub itself held back: they say less than the failure before them."""
# What a finished call is called in the sync log, by kind of call, when it got an answer.
ANSWERED = {"submit": "accepted", "query": "answered", "cancel": "cancelled"}


class LeaseLost(Exception):
    """Another process took the delivery over; this one must stop touching it."""


class HeldBack(Exception):
    """The call may not go now: an operator paused its department, or its breaker is open and
    this is not the probe. `code` says which (DEPARTMENT_PAUSED or BREAKER_OPEN)."""

    def __init__(self, code: str, department: str) -> None:
        super().__init__(code)
        self.code = code
        self.department = department

    def transient(self, *, outcome_unknown: bool = False) -> TransientError:
        """The try, held back, as the transient failure the delivery is rescheduled by."""
        return TransientError(
            self.code, f"{self.department}: {self.code}", outcome_unknown=outcome_unknown
        )


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


@dataclass
class CallResult:
    """What one call came to: its sync-log outcome, and the answer or the error."""

    outcome: str
    value: Any = None
    error: DepartmentError | None = None
    moved: bool = False
    """The outcome written with the call's end (`then`) changed the delivery's state."""


Then = Callable[[AsyncConnection, CallResult], Awaitable[bool]]
"""Writes a call's outcome in the transaction that records its end; True if the delivery's
state changed. May raise LeaseLost: the end is then recorded alone."""


class Calls:
    """Makes the calls of one hub process, and keeps its view of the departments' breakers."""

    def __init__(
        self,
        engine: AsyncEngine,
        departments: Mapping[str, Department],
        worker: str,
        margin: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.departments = departments
        self.worker = worker
        self.margin = margin
        self.tripped: set[str] = set()
        self.probes: dict[str, str] = {}  # department → the delivery this process probes with
        self.breakers: dict[str, RowMapping] = {}
        self.success_noted: dict[str, float] = defaultdict(float)

    def lease(self, code: str) -> timedelta:
        """The lease a claim on this department's deliveries holds."""
        return lease_for(self.departments[code], self.margin)

    def note_breakers(self, breakers: dict[str, RowMapping]) -> None:
        """Take in the breakers as the store has them (any process may have opened one)."""
        self.breakers = breakers
        for code, breaker in breakers.items():
            if breaker["state"] != BreakerState.CLOSED:
                self.tripped.add(code)

    async def refusal(self, code: str, delivery_id: str) -> str | None:
        """Why this delivery may not call its department now (an operator paused it, or its
        breaker is open and this is not the probe), or None."""
        async with self.engine.connect() as conn:
            return await self._refusal(conn, code, delivery_id)

    async def _refusal(self, conn: AsyncConnection, code: str, delivery_id: str) -> str | None:
        # Read from the store, since any process may have opened the breaker and any operator
        # paused the department.
        gate = await breaker_store.gate(conn, code)
        if gate.paused:
            return DEPARTMENT_PAUSED
        if gate.state is None or gate.state == BreakerState.CLOSED:
            return None
        self.tripped.add(code)
        probing = (
            gate.state == BreakerState.HALF_OPEN
            and gate.probe_by == self.worker
            and self.probes.get(code) == delivery_id
        )
        return None if probing else BREAKER_OPEN

    async def call(
        self,
        row: RowMapping,
        kind: str,
        fn: Callable[[], Awaitable[Any]],
        *,
        number: int | None = None,
        payload_sha256: str | None = None,
        store: Mapping[str, Any] | None = None,
        then: Then | None = None,
    ) -> CallResult:
        """One call, recorded before it goes and when it ends; renews the delivery's lease.

        Raises HeldBack, having written nothing, when the department may not be called now;
        checked in the transaction that records the call, not in one of its own. A submit marks
        the delivery in doubt until its outcome is stored: a crash in between leaves the hub
        knowing that it does not know. `store` are more of the delivery's values to write before
        the call goes (its payload, on the first try); `then` writes what the call came to in
        the transaction that records its end, saving one of its own.
        """
        started = utcnow()
        values: dict[str, Any] = {
            "locked_until": started + self.lease(row["department"]),
            "updated_at": started,
        }
        values |= store or {}
        if kind == "submit":
            values |= {"attempts": number, "in_doubt": True}
            if row["first_attempt_at"] is None:
                values["first_attempt_at"] = started
        code = row["department"]
        probing = self.probes.get(code) == row["id"]
        async with self.engine.begin() as conn:
            if not await delivery_store.update_if_callable(
                conn, row["id"], code, self.worker, values, probing=probing
            ):
                # Only now is the gate read, to say why: rarely, so not before every call.
                refused = await self._refusal(conn, code, row["id"])
                if refused is not None:
                    raise HeldBack(refused, code)
                # Open by now (it changed in between, on PostgreSQL), or the lease is gone.
                if not await delivery_store.update_leased(conn, row["id"], self.worker, values):
                    raise LeaseLost
            if probing:
                self.tripped.add(code)  # a probe's failure re-opens, it does not open anew
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
                result = await self._outcome(fn, kind)
            duration_ms = (time.perf_counter() - start) * 1000
            await self._finish(attempt_id, row["department"], result, exchanges, duration_ms, then)
            if self.metrics is not None:
                self.metrics.observe_call(
                    row["department"], kind, result.outcome, duration_ms / 1000
                )
        return result

    async def _outcome(self, fn: Callable[[], Awaitable[Any]], kind: str) -> CallResult:
        try:
            value = await fn()
        except PermanentError as error:
            return CallResult("permanent", error=error)
        except TransientError as error:
            return CallResult("transient", error=error)
        except Exception as error:
            # An adapter bug after the department may have answered: the outcome is unknown.
            log.exception("attempt.adapter_error")
            return CallResult(
                "transient",
                error=TransientError(
                    "adapter_error", f"{type(error).__name__}: {error}", outcome_unknown=True
                ),
            )
        if kind == "lookup":
            return CallResult("found" if value is not None else "not_found", value)
        return CallResult(ANSWERED.get(kind, "answered"), value)

    async def _finish(
        self,
        attempt_id: int,
        department: str,
        result: CallResult,
        exchanges: list[Exchange],
        duration_ms: float,
        then: Then | None,
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
        try:
            async with self.engine.begin() as conn:
                await attempt_store.finish(conn, attempt_id, values)
                await self._breaker_after(conn, department, result)
                if then is not None:
                    result.moved = await then(conn, result)
        except LeaseLost:
            # The outcome may not be written, but what the department said is known.
            async with self.engine.begin() as conn:
                await attempt_store.finish(conn, attempt_id, values)
                await self._breaker_after(conn, department, result)
            raise
        finally:
            log.info(
                "attempt.finished",
                outcome=result.outcome,
                error_code=values["error_code"],
                http_status=values["http_status"],
                duration_ms=values["duration_ms"],
                request_bytes=values["request_bytes"],
                response_bytes=values["response_bytes"],
            )

    async def _breaker_after(self, conn: AsyncConnection, code: str, result: CallResult) -> None:
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
