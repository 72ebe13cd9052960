"""Department health as operators read it: calls, success, latency, queues, breaker, pause."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.model.configuration import HubConfig
from hub.model.states import UNDECIDED, DeliveryState
from hub.ops import maintenance
from hub.store import breakers as breaker_store
from hub.store.tables import attempts, deliveries

WINDOWS = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
FAILED = "transient"
"""The one outcome that means the department did not answer (timeouts, 5xx, busy, resets)."""


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return round(sorted_values[rank - 1], 1)


SERIES_BUCKETS = 12
SERIES_SPAN = timedelta(hours=1)


def latency_series(calls: list[tuple[datetime, float, str]], now: datetime) -> list[float | None]:
    """p95 latency of each five minutes of the last hour, oldest first (None: no calls)."""
    width = SERIES_SPAN / SERIES_BUCKETS
    buckets: list[list[float]] = [[] for _ in range(SERIES_BUCKETS)]
    for started, duration, _ in calls:
        index = SERIES_BUCKETS - 1 - int((now - started) / width)
        if 0 <= index < SERIES_BUCKETS:
            buckets[index].append(duration)
    return [percentile(sorted(bucket), 0.95) for bucket in buckets]


def window_stats(calls: list[tuple[datetime, float, str]], since: datetime) -> dict[str, Any]:
    """Calls, the share that got an answer, and latency percentiles, for calls since a time."""
    chosen = [(duration, outcome) for started, duration, outcome in calls if started >= since]
    durations = sorted(duration for duration, _ in chosen)
    answered = sum(outcome != FAILED for _, outcome in chosen)
    return {
        "attempts": len(chosen),
        "success_rate": round(answered / len(chosen), 4) if chosen else None,
        "p50_ms": percentile(durations, 0.50),
        "p95_ms": percentile(durations, 0.95),
        "p99_ms": percentile(durations, 0.99),
    }


async def department_health(
    engine: AsyncEngine, config: HubConfig, now: datetime
) -> list[dict[str, Any]]:
    """Every department's health now."""
    oldest = now - max(WINDOWS.values())
    calls: dict[str, list[tuple[datetime, float, str]]] = defaultdict(list)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                attempts.c.department,
                attempts.c.started_at,
                attempts.c.duration_ms,
                attempts.c.outcome,
            ).where(attempts.c.started_at >= oldest, attempts.c.outcome.is_not(None))
        )
        for department, started, duration, outcome in rows:
            calls[department].append((started, duration or 0.0, outcome))
        queue = await conn.execute(
            select(deliveries.c.department, deliveries.c.state, func.count())
            .where(
                deliveries.c.state.in_(
                    [DeliveryState.WAITING, DeliveryState.PENDING, DeliveryState.DEAD, *UNDECIDED]
                )
            )
            .group_by(deliveries.c.department, deliveries.c.state)
        )
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for department, state, count in queue:
            counts[department][state] = count
        scheduled = await conn.execute(
            select(deliveries.c.department, func.count())
            .where(deliveries.c.state == DeliveryState.PENDING, deliveries.c.next_attempt_at > now)
            .group_by(deliveries.c.department)
        )
        retries = {str(department): int(count) for department, count in scheduled.all()}
        breakers = await breaker_store.all_breakers(conn)
        pauses = await maintenance.paused(conn)
    report = []
    for code, department in config.departments.items():
        breaker = breakers.get(code)
        pause = pauses.get(code)
        mine = counts.get(code, {})
        report.append(
            {
                "code": code,
                "name": department.name,
                "adapter": department.adapter,
                "concurrency": department.concurrency,
                "paused": {
                    "at": pause["paused_at"].isoformat(),
                    "by": pause["paused_by"],
                    "reason": pause["reason"],
                }
                if pause
                else None,
                "breaker": {
                    "state": breaker["state"] if breaker else "closed",
                    "failures_in_a_row": breaker["failures"] if breaker else 0,
                    "open_until": _iso(breaker["open_until"]) if breaker else None,
                    "last_failure_code": breaker["last_failure_code"] if breaker else None,
                    "last_success_at": _iso(breaker["last_success_at"]) if breaker else None,
                },
                "deliveries": {
                    "open": sum(mine.get(s, 0) for s in ("waiting", "pending", *UNDECIDED)),
                    "waiting": mine.get("waiting", 0),
                    "pending": mine.get("pending", 0),
                    "retries_scheduled": retries.get(code, 0),
                    "awaiting_decision": sum(mine.get(s, 0) for s in UNDECIDED),
                    "dead": mine.get("dead", 0),
                },
                "windows": {
                    name: window_stats(calls[code], now - span) for name, span in WINDOWS.items()
                },
                "p95_ms_per_5_minutes": latency_series(calls[code], now),
            }
        )
    return report


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
