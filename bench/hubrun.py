"""One hub run: simulators, a fresh store, one or two `hub serve`, filings, until all is decided."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.deployment import DEPARTMENTS, Deployment, free_port, prepare
from bench.procs import Child, Usage, start_hub, start_simulators
from bench.stats import percentiles, rate
from bench.stores import Counts, Progress, fresh_store
from bench.submit import Filed, Frontend
from bench.workload import bodies

MB = 1024 * 1024


@dataclass(frozen=True)
class Context:
    """What every run of one benchmark invocation shares."""

    source: Path
    """The configuration directory to copy (the repository's config/)."""
    workdir: Path
    postgres: str
    log_level: str = "INFO"
    windows: int = 16
    """Frontend windows filing at once, when filing as fast as the hub acknowledges."""
    timeout: float = 1800.0


@dataclass(frozen=True)
class HubRun:
    """One way of running the hub."""

    name: str
    applications: int
    store: str = "sqlite"
    processes: int = 1
    faults: Sequence[str] = ()
    rate: float | None = None
    """Offered filings per second; None files as fast as the hub acknowledges."""
    watched: Sequence[str] = DEPARTMENTS
    """Departments whose deliveries must all be decided for the run to end."""
    milestones: Sequence[int] = field(default=())
    """Approved-application counts at which to note the hub's RSS."""
    split: bool = False
    """The first process serves the API only (`--no-dispatch`) and takes every filing; the
    others deliver (docs/scaling.md)."""


async def run_hub(spec: HubRun, ctx: Context) -> dict[str, Any]:
    """Run the hub as `spec` says and measure it."""
    workdir = ctx.workdir / spec.name
    deployment = prepare(ctx.source, workdir / "config")
    simulators = await start_simulators(deployment, workdir, spec.faults)
    try:
        async with fresh_store(spec.store, workdir, ctx.postgres, spec.name) as url:
            return await _with_store(spec, ctx, deployment, url, workdir)
    finally:
        await simulators.stop()


async def _with_store(
    spec: HubRun, ctx: Context, deployment: Deployment, url: str, workdir: Path
) -> dict[str, Any]:
    hubs: list[Child] = []
    progress = Progress(url)
    try:
        for i in range(spec.processes):
            port = free_port()
            log = workdir / f"hub-{i}.log"
            dispatch = not (spec.split and i == 0)
            hubs.append(
                await start_hub(
                    deployment, url, port, log, log_level=ctx.log_level, dispatch=dispatch
                )
            )
        frontend = Frontend(
            [
                f"http://127.0.0.1:{h.name.partition(':')[2]}"
                for h in hubs[: 1 if spec.split else None]
            ],
            deployment.frontend_token(),
            bodies(ctx.source),
            f"bench-{spec.name}-{int(time.time())}",
        )
        usage = Usage([h.pid for h in hubs])
        rss_at: dict[int, int] = {}

        def note(counts: Counts) -> None:
            for milestone in spec.milestones:
                if milestone not in rss_at and counts.approved_applications >= milestone:
                    rss_at[milestone] = usage.rss()

        usage.start()
        try:
            if spec.rate is None:
                filed = await frontend.as_fast_as_possible(spec.applications, ctx.windows)
            else:
                filed = await frontend.at_rate(spec.applications, spec.rate)
        finally:
            await frontend.close()
        async with asyncio.timeout(ctx.timeout):
            await progress.wait(
                _done(spec.applications),
                departments=list(spec.watched),
                on_counts=note if spec.milestones else None,
            )
        cpu, peak = await usage.stop()
        return await _measure(spec, progress, filed, cpu, peak, rss_at)
    finally:
        await progress.close()
        for hub in hubs:
            with contextlib.suppress(ProcessLookupError):
                await hub.stop()


def _done(applications: int) -> Callable[[Counts], bool]:
    return lambda c: c.applications >= applications and c.open_deliveries == 0


async def _measure(
    spec: HubRun,
    progress: Progress,
    filed: list[Filed],
    cpu: float,
    peak: int,
    rss_at: dict[int, int],
) -> dict[str, Any]:
    finished = await progress.finished()
    counts = await progress.counts()
    start = min(f.at for f in filed)
    ends = [
        when.timestamp()
        for code, (_, when) in finished.by_department.items()
        if code in spec.watched
    ]
    seconds = max(ends) - start
    e2e = [
        finished.decided[f.application_id].timestamp() - f.at
        for f in filed
        if f.application_id in finished.decided
    ]
    result: dict[str, Any] = {
        "submitted": len(filed),
        "completed": counts.approved_applications,
        "seconds": round(seconds, 3),
        "apps_per_s": rate(counts.approved_applications, seconds),
        "submit_ms": percentiles([f.latency for f in filed], 50, 95, 99),
        "e2e_ms": percentiles(e2e, 50, 99),
        "hub_processes": spec.processes,
        "hub_cpu_s": round(cpu, 2),
        "hub_cpu_s_per_app": round(cpu / max(1, len(filed)), 5),
        "hub_peak_rss_mb": round(peak / MB, 1),
        "department_deliveries_per_s": {
            code: rate(n, when.timestamp() - start)
            for code, (n, when) in sorted(finished.by_department.items())
        },
        "attempts": finished.attempts,
    }
    if spec.rate is not None:
        result["offered_per_s"] = spec.rate
    if spec.milestones:
        result["rss_mb_at"] = {str(k): round(v / MB, 1) for k, v in sorted(rss_at.items())}
    return result
