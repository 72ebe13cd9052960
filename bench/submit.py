"""Filing applications through the hub's HTTP API, as the centers' frontends do."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from bench.workload import matter_of


class SubmitFailed(RuntimeError):
    """The hub did not acknowledge a filing with 202."""


@dataclass(frozen=True)
class Filed:
    """One acknowledged filing."""

    application_id: str
    at: float
    """Wall-clock time (epoch seconds) the request was sent."""
    latency: float
    """Seconds until the 202."""


class Frontend:
    """Files applications round-robin over one or more hub processes."""

    def __init__(
        self, urls: Sequence[str], token: str, bodies: Mapping[str, bytes], run: str
    ) -> None:
        self.urls = itertools.cycle(urls)
        self.token = token
        self.bodies = bodies
        self.run = run
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        """Close its connections."""
        await self.http.close()

    async def file(self, index: int) -> Filed:
        """File the index-th application; SubmitFailed unless it is acknowledged."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"{self.run}-{index}",
        }
        url = f"{next(self.urls)}/api/v1/applications"
        at = time.time()
        start = time.perf_counter()
        async with self.http.post(url, data=self.bodies[matter_of(index)], headers=headers) as r:
            body = await r.json(content_type=None)
            latency = time.perf_counter() - start
            if r.status != 202:
                raise SubmitFailed(f"HTTP {r.status}: {body}")
        return Filed(str(body["id"]), at, latency)

    async def as_fast_as_possible(
        self, count: int, concurrency: int, first: int = 0
    ) -> list[Filed]:
        """File `count` applications with `concurrency` windows, each filing as soon as the
        last one was acknowledged."""
        indexes = iter(range(first, first + count))
        filed: list[Filed] = []

        async def window() -> None:
            for index in indexes:
                filed.append(await self.file(index))

        await asyncio.gather(*(window() for _ in range(concurrency)))
        return filed

    async def at_rate(self, count: int, per_second: float, first: int = 0) -> list[Filed]:
        """File `count` applications at a fixed offered rate, whatever the answers' latency."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for i in range(count):
            # The schedule is the clock itself: the i-th filing is due at start + i / rate.
            delay = start + i / per_second - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.file(first + i)))
        return list(await asyncio.gather(*tasks))
