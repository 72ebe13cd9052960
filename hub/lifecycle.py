"""Process life: waiting for the signal to stop."""

from __future__ import annotations

import asyncio
import gc
import signal

from aiohttp import web


async def wait_for_stop() -> None:
    """Return on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def freeze_startup_heap(_app: web.Application) -> None:
    """Collect what starting left behind, then keep the rest out of the collector's passes."""
    # Startup builds about 135,000 long-lived objects (WSDL schemas, compiled statements,
    # models). Every full pass of the cyclic collector walks them all, stopping the event loop
    # for 50-100 ms under load on a small machine: most of the windows' p99 wait at 100
    # filings/s (docs/performance.md, round five). Frozen, they are still freed by reference
    # counting; only cycles among them would stay, and the collection first leaves none.
    gc.collect()
    gc.freeze()
