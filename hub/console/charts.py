"""Latency charts as inline SVG: drawn on the server, so the console needs no chart library."""

from __future__ import annotations

from collections.abc import Sequence

WIDTH, HEIGHT, PAD = 360, 80, 6


def sparkline(values: Sequence[float | None]) -> dict[str, object]:
    """Points for SVG polylines over the values (a gap where no calls were), and the scale."""
    known = [v for v in values if v is not None]
    top = max(known) if known else 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    dots: list[tuple[str, str]] = []
    for i, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = PAD + i * step
        y = HEIGHT - PAD - (value / top) * (HEIGHT - 2 * PAD) if top else HEIGHT - PAD
        segments[-1].append(f"{x:.1f},{y:.1f}")
        dots.append((f"{x:.1f}", f"{y:.1f}"))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "lines": [" ".join(points) for points in segments if len(points) > 1],
        "dots": dots,
        "top_ms": round(top, 1) if known else None,
    }
