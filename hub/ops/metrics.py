"""Prometheus metrics: calls counted as they happen, queues and states read from the store.

Label values are bounded: department codes, matters, states and outcomes come from the
configuration or fixed vocabularies, never ids.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.model.configuration import HubConfig
from hub.model.states import ApplicationStatus, DeliveryState
from hub.ops import maintenance
from hub.store import applications as app_store
from hub.store import breakers as breaker_store
from hub.store.applications import FINAL_STATUSES
from hub.store.tables import applications, deliveries

BREAKER_VALUE = {"closed": 0, "half_open": 1, "open": 2}


class Metrics:
    """One hub process's metrics, in a registry of its own (so each app, and test, has its own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "hub_department_calls",
            "Calls to departments, by kind (submit, lookup, query, cancel) and outcome",
            ["department", "kind", "outcome"],
            registry=self.registry,
        )
        self.call_seconds = Histogram(
            "hub_department_call_duration_seconds",
            "How long calls to departments took",
            ["department", "kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.filed = Counter(
            "hub_applications_filed",
            "Applications acknowledged (202)",
            ["matter"],
            registry=self.registry,
        )
        self.deliveries = Gauge(
            "hub_deliveries",
            "Deliveries by department and state",
            ["department", "state"],
            registry=self.registry,
        )
        self.retries_scheduled = Gauge(
            "hub_retries_scheduled",
            "Deliveries waiting for a scheduled retry",
            ["department"],
            registry=self.registry,
        )
        self.applications = Gauge(
            "hub_applications", "Applications by status", ["status"], registry=self.registry
        )
        self.overdue = Gauge(
            "hub_applications_overdue",
            "Undecided applications past their promised time limit",
            registry=self.registry,
        )
        self.supervision = Gauge(
            "hub_applications_supervision",
            "Undecided applications by supervision state (效能监察): normal, amber, red",
            ["state"],
            registry=self.registry,
        )
        self.breaker = Gauge(
            "hub_breaker_state",
            "Circuit breaker: 0 closed, 1 half open, 2 open",
            ["department"],
            registry=self.registry,
        )
        self.paused = Gauge(
            "hub_department_paused",
            "1 while an operator has paused the department",
            ["department"],
            registry=self.registry,
        )

    def observe_call(self, department: str, kind: str, outcome: str, seconds: float) -> None:
        """Count one finished call to a department."""
        self.calls.labels(department, kind, outcome).inc()
        self.call_seconds.labels(department, kind).observe(seconds)

    async def render(self, engine: AsyncEngine, config: HubConfig, now: datetime) -> bytes:
        """The text exposition format, with the store's gauges read now."""
        async with engine.connect() as conn:
            by_state = (
                await conn.execute(
                    select(deliveries.c.department, deliveries.c.state, func.count()).group_by(
                        deliveries.c.department, deliveries.c.state
                    )
                )
            ).all()
            scheduled = (
                await conn.execute(
                    select(deliveries.c.department, func.count())
                    .where(
                        deliveries.c.state == DeliveryState.PENDING,
                        deliveries.c.next_attempt_at > now,
                    )
                    .group_by(deliveries.c.department)
                )
            ).all()
            by_status = await app_store.status_counts(conn)
            overdue = await app_store.overdue_count(conn, config.clock.today(now))
            supervised: dict[str, int] = dict(
                (
                    await conn.execute(
                        select(applications.c.supervision, func.count())
                        .where(applications.c.status.not_in(FINAL_STATUSES))
                        .group_by(applications.c.supervision)
                    )
                ).all()
            )
            breakers = await breaker_store.all_breakers(conn)
            pauses = await maintenance.paused(conn)
        counts = {(d, s): n for d, s, n in by_state}
        retrying: dict[str, int] = {str(d): int(n) for d, n in scheduled}
        for code in config.departments:
            for state in DeliveryState:
                self.deliveries.labels(code, state.value).set(counts.get((code, state.value), 0))
            self.retries_scheduled.labels(code).set(retrying.get(code, 0))
            breaker = breakers.get(code)
            self.breaker.labels(code).set(BREAKER_VALUE[breaker["state"]] if breaker else 0)
            self.paused.labels(code).set(1 if code in pauses else 0)
        for status in ApplicationStatus:
            self.applications.labels(status.value).set(by_status.get(status.value, 0))
        self.overdue.set(overdue)
        for level in ("normal", "amber", "red"):
            self.supervision.labels(level).set(supervised.get(level, 0))
        return generate_latest(self.registry)
