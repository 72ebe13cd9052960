"""The dispatcher: claims due work on deliveries and hands each to the job that does it.

Each hub process runs one. Work is claimed from the store under a lease, so any number of
processes share it; a department's concurrency limit counts the leases of all of them. A claimed
delivery is sent (sending), asked about (status) or withdrawn (withdrawal).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Mapping

import structlog
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.delivery.calls import Calls, LeaseLost, worker_name
from hub.delivery.jobs import Job, Work
from hub.delivery.sending import Sender
from hub.delivery.status import Poller
from hub.delivery.withdrawal import Canceller
from hub.model.configuration import HubConfig
from hub.model.states import UNDECIDED
from hub.ops import maintenance
from hub.ops.metrics import Metrics
from hub.plugin.adapter import Adapter
from hub.store import breakers as breaker_store
from hub.store import deliveries as delivery_store
from hub.store.breakers import BreakerState
from hub.store.outages import Outages, error_class
from hub.store.types import utcnow

log = structlog.get_logger("hub.dispatch")


class Dispatcher:
    """Carries due deliveries to their departments and their decisions back; one per process."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: HubConfig,
        adapters: Mapping[str, Adapter],
        *,
        worker: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.departments = config.departments
        self.adapters = adapters
        self.settings = config.settings.dispatch
        self.worker = worker or worker_name()
        self.calls = Calls(
            engine, self.departments, self.worker, self.settings.lease_margin, metrics
        )
        work = Work(engine, self.departments, self.calls, config.clock, self.worker, self.notify)
        self.sender = Sender(work)
        self.poller = Poller(work)
        self.canceller = Canceller(work, self.sender)
        self.wake = asyncio.Event()
        self.stopping = False
        self.running = False
        self.in_flight: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        self.unreleased: set[str] = set()
        """Crashed deliveries whose lease the store could not take back (it was out of reach):
        given back once it answers again, instead of waiting for the leases to run out."""

    def notify(self) -> None:
        """Look for work now (a filing was committed, a delivery released or replayed)."""
        self.wake.set()

    async def run(self) -> None:
        """Claim and carry until stop() is called."""
        self.running = True
        log.info("dispatcher.started", worker=self.worker)
        outages = Outages(log, "dispatcher", "dispatcher.claim_failed")
        try:
            while not self.stopping:
                self.wake.clear()
                try:
                    await self._claim_and_start()
                    await self._release_unreleased()
                except Exception as exc:
                    outages.failed(exc)
                else:
                    outages.succeeded()
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

    async def _release_unreleased(self) -> None:
        if not self.unreleased:
            return
        given_back = list(self.unreleased)
        async with self.engine.begin() as conn:
            for delivery_id in given_back:
                await delivery_store.release_lease(conn, delivery_id, self.worker)
        self.unreleased.difference_update(given_back)
        log.info("delivery.leases_given_back", deliveries=len(given_back))

    async def _claim_and_start(self) -> None:
        now = utcnow()
        # Only where this process has room: a department at its limit is not even looked at.
        room = [
            code
            for code, department in self.departments.items()
            if code in self.adapters and self.in_flight[code] < department.concurrency
        ]
        async with self.engine.connect() as conn:
            stopped = await maintenance.paused(conn)
            due = await delivery_store.due_departments(
                conn, [code for code in room if code not in stopped], now
            )
            breakers = await breaker_store.all_breakers(conn)
        self.calls.note_breakers(breakers)
        for code in due:
            department = self.departments[code]
            lease = self.calls.lease(code)
            most = None
            async with self.engine.begin() as conn:
                seen = breakers.get(code)
                if seen is not None and seen["state"] != BreakerState.CLOSED:
                    # Open (or being probed by another process): only the probe's taker calls.
                    if not await breaker_store.take_probe(conn, code, self.worker, now, lease):
                        continue
                    log.info("breaker.probing", department=code)
                    self.calls.tripped.discard(code)  # this process's next call is the probe
                    most = 1
                rows = await delivery_store.claim(
                    conn,
                    code,
                    worker=self.worker,
                    limit=department.concurrency,
                    lease=lease,
                    now=now,
                    most=most,
                )
                if most == 1 and not rows:  # nothing to probe with after all: let it be taken later
                    await breaker_store.give_back_probe(conn, code, self.worker, now)
            if most == 1 and rows:
                self.calls.probes[code] = rows[0]["id"]
            # Leased afresh (its old lease ran out): the new lease is not one to give back.
            self.unreleased.difference_update(row["id"] for row in rows)
            for row in rows:
                self.in_flight[code] += 1
                task = asyncio.create_task(self._carry_logged(row))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def _carry_logged(self, row: RowMapping) -> None:
        delivery_id, department = row["id"], row["department"]
        try:
            with structlog.contextvars.bound_contextvars(
                delivery_id=delivery_id,
                department=department,
                worker=self.worker,
                application_id=row["application_id"],
            ):
                await self.carry(row)
        except LeaseLost:
            log.warning("delivery.lease_lost")
        except asyncio.CancelledError:
            log.warning("delivery.interrupted")
            raise
        except Exception:
            log.exception("delivery.crashed")
            try:
                async with self.engine.begin() as conn:
                    await delivery_store.release_lease(conn, delivery_id, self.worker)
            except Exception as exc:
                # The store is failing too: the lease is given back once the store answers
                # again (or runs out first).
                log.warning("delivery.release_failed", error=error_class(exc))
                self.unreleased.add(delivery_id)
        finally:
            self.in_flight[department] -= 1
            self.wake.set()

    async def carry(self, row: RowMapping) -> None:
        """Do what a claimed delivery (its row as leased) is due for: withdraw it, ask about
        it, or send it."""
        job = Job(row, self.departments[row["department"]], self.adapters[row["department"]])
        if row["cancel_requested_at"] is not None:
            await self.canceller.cancel(job)
        elif row["state"] in UNDECIDED:
            await self.poller.poll(job)
        else:
            await self.sender.send(job)
