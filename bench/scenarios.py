"""The scenarios of a benchmark run, each measured on its own, in the order they are named."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.deployment import DEPARTMENTS, prepare
from bench.hubrun import Context, HubRun, run_hub
from bench.limit import run_limit
from bench.peer import run_peer, unavailable
from bench.procs import start_simulators
from bench.stores import postgres_reachable
from bench.workload import plans

ORDER = (
    "limit",
    "celery",
    "hub-sqlite",
    "hub-rate",
    "hub-pg",
    "hub-pg-2",
    "hub-pg-split-rate",
    "fault-hang",
    "fault-errors",
    "memory",
)
ALIASES = {"faults": ("fault-hang", "fault-errors"), "hub": ("hub-sqlite", "hub-rate")}
FAULT_DEPARTMENT = "tax"
"""Hung or erring in the fault runs: a leaf of company start-up, so the others can go on."""


@dataclass(frozen=True)
class Sizes:
    """How much each scenario files."""

    applications: int
    rate: float = 100.0
    rate_seconds: float = 20.0
    memory_low: int = 10_000
    memory_high: int = 50_000


Scenario = Callable[[Context, Sizes, str], Awaitable[dict[str, Any]]]


async def limit(ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
    """The bare aiohttp client against the simulators."""
    deployment = prepare(ctx.source, ctx.workdir / "limit" / "config")
    config = deployment.config()
    simulators = await start_simulators(deployment, ctx.workdir / "limit")
    try:
        concurrency = {code: config.departments[code].concurrency for code in DEPARTMENTS}
        return await run_limit(
            deployment.endpoints(),
            plans(config.catalog),
            concurrency,
            sizes.applications,
            f"limit-{int(time.time())}",
        )
    finally:
        await simulators.stop()


async def celery(ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
    """The Celery and Redis peer against the simulators."""
    reason = unavailable(redis_url)
    if reason is not None:
        return {"skipped": reason}
    workdir = ctx.workdir / "celery"
    deployment = prepare(ctx.source, workdir / "config")
    config = deployment.config()
    simulators = await start_simulators(deployment, workdir)
    try:
        concurrency = {code: config.departments[code].concurrency for code in DEPARTMENTS}
        return await run_peer(
            deployment, plans(config.catalog), concurrency, sizes.applications, redis_url, workdir
        )
    finally:
        await simulators.stop()


def _hub(name: str, store: str = "sqlite", processes: int = 1, **kwargs: Any) -> Scenario:
    async def scenario(ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
        if store == "postgresql" and not await postgres_reachable(ctx.postgres):
            return {"skipped": f"PostgreSQL at {ctx.postgres} does not answer"}
        spec = HubRun(name, sizes.applications, store=store, processes=processes, **kwargs)
        return await run_hub(spec, ctx)

    return scenario


async def hub_rate(ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
    """The SQLite hub filed at a fixed offered rate: the submit latency a window sees."""
    count = max(1, int(sizes.rate * sizes.rate_seconds))
    return await run_hub(HubRun("hub-rate", count, rate=sizes.rate), ctx)


async def hub_pg_split_rate(ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
    """PostgreSQL, an API-only process taking the filings at the offered rate beside one that
    delivers: the submit latency a window sees when filing and delivery are apart."""
    if not await postgres_reachable(ctx.postgres):
        return {"skipped": f"PostgreSQL at {ctx.postgres} does not answer"}
    count = max(1, int(sizes.rate * sizes.rate_seconds))
    spec = HubRun(
        "hub-pg-split-rate", count, store="postgresql", processes=2, rate=sizes.rate, split=True
    )
    return await run_hub(spec, ctx)


async def memory(ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
    """The SQLite hub over many applications: does its memory grow with them?"""
    spec = HubRun("memory", sizes.memory_high, milestones=(sizes.memory_low, sizes.memory_high))
    result = await run_hub(spec, ctx)
    low, high = (result["rss_mb_at"].get(str(n)) for n in (sizes.memory_low, sizes.memory_high))
    if low and high:
        result["rss_growth"] = round((high - low) / low, 4)
    return result


SCENARIOS: dict[str, Scenario] = {
    "limit": limit,
    "celery": celery,
    "hub-sqlite": _hub("hub-sqlite"),
    "hub-rate": hub_rate,
    "hub-pg": _hub("hub-pg", store="postgresql"),
    "hub-pg-2": _hub("hub-pg-2", store="postgresql", processes=2),
    "hub-pg-split-rate": hub_pg_split_rate,
    "fault-hang": _hub(
        "fault-hang",
        faults=(f"{FAULT_DEPARTMENT}:hang_rate=1",),
        watched=tuple(d for d in DEPARTMENTS if d != FAULT_DEPARTMENT),
    ),
    "fault-errors": _hub("fault-errors", faults=(f"{FAULT_DEPARTMENT}:error_rate=0.3",)),
    "memory": memory,
}


def selected(only: str | None) -> list[str]:
    """The scenarios named (aliases expanded), in the canonical order; all but memory by default."""
    if not only:
        return [name for name in ORDER if name != "memory"]
    names: set[str] = set()
    for item in only.split(","):
        item = item.strip()
        if item in ALIASES:
            names.update(ALIASES[item])
        elif item in SCENARIOS:
            names.add(item)
        else:
            known = ", ".join([*ORDER, *ALIASES])
            raise ValueError(f"no scenario {item!r}; known: {known}")
    return [name for name in ORDER if name in names]
