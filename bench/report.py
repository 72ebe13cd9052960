"""The run's report: every scenario's numbers, the issue's targets, as JSON and as a table."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table


def _get(results: Mapping[str, Any], name: str, *path: str) -> Any:
    value: Any = results.get(name)
    for key in path:
        if not isinstance(value, Mapping) or value.get("skipped"):
            return None
        value = value.get(key)
    return value


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _others_per_s(result: Any, fault: str) -> float | None:
    if not isinstance(result, Mapping) or "department_deliveries_per_s" not in result:
        return None
    rates: Mapping[str, float] = result["department_deliveries_per_s"]
    return sum(v for k, v in rates.items() if k != fault)


def targets(results: Mapping[str, Any], fault_department: str) -> list[dict[str, Any]]:
    """Each target of the issue: the measured value, the bound, and whether it is met."""
    limit = _get(results, "limit", "apps_per_s")
    sqlite = _get(results, "hub-sqlite", "apps_per_s")
    celery = _get(results, "celery", "apps_per_s")
    pg1 = _get(results, "hub-pg", "apps_per_s")
    pg2 = _get(results, "hub-pg-2", "apps_per_s")
    hang_share = _ratio(
        _others_per_s(results.get("fault-hang"), fault_department),
        _others_per_s(results.get("hub-sqlite"), fault_department),
    )
    rows = [
        ("hub-sqlite apps/s ÷ limit apps/s", _ratio(sqlite, limit), ">=", 0.5),
        ("hub-sqlite apps/s ÷ celery apps/s", _ratio(sqlite, celery), ">", 1.0),
        (
            "submit p99 ms at the offered rate",
            _get(results, "hub-rate", "submit_ms", "p99"),
            "<=",
            20.0,
        ),
        (
            "submit p99 ms at the offered rate, API process apart (PostgreSQL)",
            _get(results, "hub-pg-split-rate", "submit_ms", "p99"),
            "<=",
            20.0,
        ),
        (f"others' throughput with {fault_department} hanging ÷ normal", hang_share, ">=", 0.9),
        ("RSS growth 10k → 50k applications", _get(results, "memory", "rss_growth"), "<=", 0.10),
        # "Do not lose throughput": two processes against one, with 5 % allowed for noise.
        ("hub-pg-2 apps/s ÷ hub-pg apps/s", _ratio(pg2, pg1), ">=", 0.95),
    ]
    checks = {">=": lambda v, b: v >= b, ">": lambda v, b: v > b, "<=": lambda v, b: v <= b}
    return [
        {
            "target": name,
            "value": value,
            "bound": f"{op} {bound:g}",
            "met": None if value is None else bool(checks[op](value, bound)),
        }
        for name, value, op, bound in rows
    ]


def ratios(results: Mapping[str, Any]) -> dict[str, float | None]:
    """Each scenario's applications per second as a share of the limit's."""
    limit = _get(results, "limit", "apps_per_s")
    return {
        name: _ratio(_get(results, name, "apps_per_s"), limit)
        for name, result in results.items()
        if isinstance(result, Mapping) and "apps_per_s" in result
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def print_report(report: Mapping[str, Any], console: Console | None = None) -> None:
    """The scenarios and the targets as two tables."""
    # A pipe or a file gets the whole table rather than columns cut to 80 characters.
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    results = report["results"]
    table = Table(title="scenarios")
    for column in (
        "scenario",
        "apps",
        "done",
        "apps/s",
        "÷ limit",
        "submit p50/p95/p99 ms",
        "e2e p50/p99 ms",
        "CPU s/app",
        "peak RSS MB",
    ):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, result in results.items():
        if result.get("skipped"):
            table.add_row(name, "skipped: " + str(result["skipped"]))
            continue
        submit = result.get("submit_ms") or {}
        e2e = result.get("e2e_ms") or {}
        table.add_row(
            name,
            _fmt(result.get("submitted")),
            _fmt(result.get("completed")),
            _fmt(result.get("apps_per_s")),
            _fmt(report["ratios"].get(name)),
            "/".join(_fmt(submit.get(p)) for p in ("p50", "p95", "p99")) if submit else "–",
            "/".join(_fmt(e2e.get(p)) for p in ("p50", "p99")),
            _fmt(result.get("hub_cpu_s_per_app", result.get("workers_cpu_s_per_app"))),
            _fmt(result.get("hub_peak_rss_mb", result.get("workers_peak_rss_mb"))),
        )
    console.print(table)
    checks = Table(title="targets")
    for column in ("target", "value", "bound", "met"):
        checks.add_column(column)
    for row in report["targets"]:
        met = {True: "yes", False: "NO", None: "not measured"}[row["met"]]
        checks.add_row(row["target"], _fmt(row["value"]), row["bound"], met)
    console.print(checks)
