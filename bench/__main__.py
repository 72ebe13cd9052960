"""`python -m bench`: the hub beside the raw fan-out limit and a Celery peer, in one run."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import psutil

from bench.hubrun import Context
from bench.report import print_report, ratios, targets
from bench.scenarios import FAULT_DEPARTMENT, SCENARIOS, Sizes, selected
from hub.ops.logging import configure_logging

QUICK = ("limit", "hub-sqlite")
QUICK_APPLICATIONS = 40


async def _run(names: list[str], ctx: Context, sizes: Sizes, redis_url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        click.echo(f"· {name} …", err=True)
        start = time.perf_counter()
        results[name] = await SCENARIOS[name](ctx, sizes, redis_url)
        results[name]["wall_s"] = round(time.perf_counter() - start, 1)
        click.echo(f"  {name}: {json.dumps(results[name], ensure_ascii=False)}", err=True)
    return results


@click.command()
@click.option(
    "--applications",
    "-n",
    type=click.IntRange(1),
    default=2000,
    show_default=True,
    help="Applications per throughput scenario.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=100.0,
    show_default=True,
    help="Offered applications per second in hub-rate.",
)
@click.option(
    "--rate-seconds",
    type=click.FloatRange(min=0.1),
    default=20.0,
    show_default=True,
    help="How long hub-rate offers that rate.",
)
@click.option("--memory-low", type=click.IntRange(1), default=10_000, show_default=True)
@click.option("--memory-high", type=click.IntRange(2), default=50_000, show_default=True)
@click.option(
    "--only",
    help="Comma-separated scenarios: "
    + ", ".join(SCENARIOS)
    + "; or faults, hub. Default: all but memory.",
)
@click.option(
    "--quick",
    is_flag=True,
    help=f"Smoke run: {', '.join(QUICK)} with {QUICK_APPLICATIONS} applications.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report here as JSON.",
)
@click.option(
    "--config",
    "source",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("config"),
    show_default=True,
    help="The configuration to benchmark.",
)
@click.option(
    "--postgres",
    envvar="BENCH_POSTGRES_URL",
    show_default=True,
    default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    help="PostgreSQL server for the hub-pg scenarios (a database is created per run).",
)
@click.option(
    "--redis",
    "redis_url",
    envvar="BENCH_REDIS_URL",
    show_default=True,
    default="redis://127.0.0.1:6379/0",
    help="Redis for the Celery peer.",
)
@click.option(
    "--hub-log-level",
    default="INFO",
    show_default=True,
    help="The hub processes' log level (INFO is what a deployment runs).",
)
@click.option("--keep", is_flag=True, help="Keep the work directory (configs, logs, stores).")
def main(
    applications: int,
    rate: float,
    rate_seconds: float,
    memory_low: int,
    memory_high: int,
    only: str | None,
    quick: bool,
    json_path: Path | None,
    source: Path,
    postgres: str,
    redis_url: str,
    hub_log_level: str,
    keep: bool,
) -> None:
    """Measure what the hub adds on top of the bare department calls."""
    configure_logging("WARNING")
    try:
        names = list(QUICK) if quick and not only else selected(only)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None
    if quick:
        applications = min(applications, QUICK_APPLICATIONS)
    sizes = Sizes(applications, rate, rate_seconds, memory_low, memory_high)
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    ctx = Context(source, workdir, postgres, log_level=hub_log_level)
    try:
        results = asyncio.run(_run(names, ctx, sizes, redis_url))
    finally:
        if keep:
            click.echo(f"work directory kept: {workdir}", err=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "applications": applications,
            "rate": rate,
            "rate_seconds": rate_seconds,
            "memory": [memory_low, memory_high],
            "quick": quick,
            "fault_department": FAULT_DEPARTMENT,
        },
        "results": results,
        "ratios": ratios(results),
        "targets": targets(results, FAULT_DEPARTMENT),
    }
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_report(report)


if __name__ == "__main__":
    main()
