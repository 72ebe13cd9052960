"""Percentiles and rates, rounded for reading."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentiles(values: Sequence[float], *points: int) -> dict[str, float | None]:
    """p50, p95, … of the values in milliseconds (given in seconds); None when there are none."""
    if len(values) < 2:
        only = round(values[0] * 1000, 2) if values else None
        return {f"p{p}": only for p in points}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{p}": round(cuts[p - 1] * 1000, 2) for p in points}


def rate(count: int, seconds: float) -> float:
    """Events per second."""
    return round(count / seconds, 2) if seconds > 0 else 0.0
