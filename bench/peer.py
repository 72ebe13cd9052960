"""Running the Celery peer: a worker per department queue, the applications, until all are done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.deployment import Deployment
from bench.procs import Child, Usage, spawn
from bench.stats import percentiles, rate
from bench.workload import PlannedStep, matter_of

MB = 1024 * 1024
STALL = 300
"""Seconds without a finished application after which the peer is taken to be stuck."""


def unavailable(redis_url: str) -> str | None:
    """Why the peer cannot run here (Celery not installed, Redis not answering), or None."""
    try:
        import celery  # noqa: F401
        import redis
    except ImportError:
        return "Celery is not installed (pip install -e '.[bench]')"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url} does not answer: {exc}"
    return None


async def _workers(
    deployment: Deployment, concurrency: Mapping[str, int], env: dict[str, str], logs: Path
) -> list[Child]:
    children = []
    for code, n in [*concurrency.items(), ("done", 1)]:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.celery_peer",
            "worker",
            "-Q",
            f"{env['BENCH_PREFIX']}.{code}",
            "-c",
            str(n),
            "-P",
            "threads",
            "-n",
            f"{code}@{env['BENCH_PREFIX']}",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        child = await spawn(f"celery:{code}", argv, deployment, logs / f"celery-{code}.log")
        children.append(child)
    return children


async def run_peer(
    deployment: Deployment,
    plans: Mapping[str, list[PlannedStep]],
    concurrency: Mapping[str, int],
    applications: int,
    redis_url: str,
    logs: Path,
) -> dict[str, Any]:
    """Carry `applications` applications with the Celery peer; its measurements."""
    import redis.asyncio

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        "BENCH_BROKER_URL": redis_url,
        "BENCH_PREFIX": prefix,
        "BENCH_URLS": json.dumps(dict(deployment.urls)),
    }
    os.environ.update(env)
    # The module reads its settings when imported, so it is imported once they are set.
    from bench import celery_peer

    celery_peer.app.conf.broker_url = redis_url
    celery_peer.app.conf.result_backend = redis_url
    store = redis.asyncio.Redis.from_url(redis_url)
    done_key = f"{prefix}:done"
    workers = await _workers(deployment, concurrency, env, logs)
    try:
        # A first application proves every worker is up (and warms them) before timing starts.
        await _carry(celery_peer, plans, 1, "warmup", store, done_key)
        usage = Usage([w.pid for w in workers])
        usage.start()
        start = time.time()
        finished = await _carry(celery_peer, plans, applications, prefix, store, done_key)
        cpu, peak = await usage.stop()
    finally:
        for worker in workers:
            await worker.stop()
        with contextlib.suppress(Exception):
            keys = [k async for k in store.scan_iter(match=f"{prefix}:*", count=1000)]
            for i in range(0, len(keys), 1000):
                await store.delete(*keys[i : i + 1000])
        await store.aclose()
    seconds = max(end for _, end in finished) - start
    return {
        "submitted": applications,
        "completed": len(finished),
        "seconds": round(seconds, 3),
        "apps_per_s": rate(len(finished), seconds),
        "e2e_ms": percentiles([end - begin for begin, end in finished], 50, 99),
        "workers_cpu_s_per_app": round(cpu / max(1, applications), 5),
        "workers_peak_rss_mb": round(peak / MB, 1),
    }


async def _carry(
    peer: Any,
    plans: Mapping[str, list[PlannedStep]],
    applications: int,
    run: str,
    store: Any,
    done_key: str,
) -> list[tuple[float, float]]:
    def publish() -> None:
        for i in range(applications):
            matter = matter_of(i)
            peer.workflow(plans[matter], f"{run}-{i}", matter, time.time()).apply_async()

    # Publishing is blocking I/O (kombu): off the event loop.
    await asyncio.to_thread(publish)
    finished: list[tuple[float, float]] = []
    while len(finished) < applications:
        item = await store.blpop([done_key], timeout=STALL)
        if item is None:
            raise TimeoutError(f"the peer finished {len(finished)} of {applications}, then stalled")
        _, started, ended = json.loads(item[1])
        finished.append((float(started), float(ended)))
    return finished
