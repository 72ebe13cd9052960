"""The limit: a bare aiohttp client making the hub's department calls, and nothing else.

Same matters, same DAG (a step goes once the steps it follows are decided, or only accepted where
the matter says their receipt is enough), the same
per-department concurrency and the same status query until decided; no store, no validation,
no retries, no sync log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stats import percentiles, rate
from bench.wire import (
    Call,
    Endpoints,
    Request,
    WireError,
    query_request,
    read_receipt,
    read_status,
    submit_request,
)
from bench.workload import WIRE_FIELDS, PlannedStep, matter_of

REQUERY_AFTER = 0.01
"""Seconds before asking again about an undecided filing (the hub's status poll interval)."""


@dataclass
class _Client:
    endpoints: Endpoints
    http: aiohttp.ClientSession
    limits: Mapping[str, asyncio.Semaphore]
    calls: int = 0
    errors: list[str] = field(default_factory=list)

    async def send(self, department: str, request: Request) -> tuple[int, bytes]:
        async with (
            self.limits[department],
            self.http.request(
                request.method, request.url, data=request.body or None, headers=request.headers
            ) as response,
        ):
            self.calls += 1
            return response.status, await response.read()


async def _application(client: _Client, index: int, run: str, steps: list[PlannedStep]) -> float:
    """Carry one application through its DAG; seconds from start to its last decision."""
    start = time.perf_counter()
    matter = matter_of(index)
    application_id = f"{run}-{index}"
    outputs: dict[str, dict[str, Any]] = {}
    accepted: dict[str, asyncio.Event] = {s.name: asyncio.Event() for s in steps}
    decided: dict[str, asyncio.Event] = {s.name: asyncio.Event() for s in steps}

    async def carry(step: PlannedStep) -> None:
        # As the hub: after a step's decision (the bench's departments approve), or its receipt.
        for name in step.after:
            await decided[name].wait()
        for name in step.after_received:
            await accepted[name].wait()
        inputs = {}
        for name, ref in step.uses.items():
            before, _, output = ref.partition(".")
            inputs[name] = outputs[before][output]
        call = Call(
            step.department,
            step.operation,
            WIRE_FIELDS[matter],
            f"{application_id}:{step.name}",
            application_id,
            inputs,
        )
        status, body = await client.send(step.department, submit_request(client.endpoints, call))
        reference, found = read_receipt(step.department, status, body)
        outputs[step.name] = {**found, "reference": reference}
        accepted[step.name].set()
        while True:
            query = query_request(client.endpoints, step.department, reference)
            status, body = await client.send(step.department, query)
            done, given = read_status(step.department, status, body)
            if done:
                outputs[step.name] |= given
                decided[step.name].set()
                return
            await asyncio.sleep(REQUERY_AFTER)

    await asyncio.gather(*(carry(step) for step in steps))
    return time.perf_counter() - start


async def run_limit(
    endpoints: Endpoints,
    plans: Mapping[str, list[PlannedStep]],
    concurrency: Mapping[str, int],
    applications: int,
    run: str,
) -> dict[str, Any]:
    """Carry `applications` applications with the bare client; its measurements."""
    limits = {code: asyncio.Semaphore(n) for code, n in concurrency.items()}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        client = _Client(endpoints, http, limits)
        start = time.perf_counter()
        results = await asyncio.gather(
            *(_application(client, i, run, plans[matter_of(i)]) for i in range(applications)),
            return_exceptions=True,
        )
        duration = time.perf_counter() - start
    latencies = [r for r in results if isinstance(r, float)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors and not isinstance(errors[0], WireError):
        raise errors[0]
    return {
        "submitted": applications,
        "completed": len(latencies),
        "failed": len(errors),
        "seconds": round(duration, 3),
        "apps_per_s": rate(len(latencies), duration),
        "calls": client.calls,
        "e2e_ms": percentiles(latencies, 50, 99),
    }
