"""A hub process's life: what it holds (store, plugins, adapters, HTTP session, dispatcher), owned
by the web app that API and console share; how it starts and how it waits for the signal to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.delivery.dispatch import Dispatcher
from hub.delivery.relay import Relay
from hub.delivery.supervision import Supervisor
from hub.model.configfiles import ConfigError
from hub.model.configuration import HubConfig
from hub.model.timelimits import calendar_file, check_coverage
from hub.ops.metrics import Metrics
from hub.plugin.adapter import Adapter
from hub.plugin.manager import Plugins, make_plugin_manager
from hub.plugin.registry import build_adapters, check_adapters
from hub.store.checkpoints import checkpoint_in_background
from hub.store.engine import SQLiteEngine, create_engine, migrate
from hub.store.types import utcnow

log = structlog.get_logger("hub.runtime")


@dataclass
class Hub:
    """Everything a running hub process holds, created at start and closed at stop."""

    config: HubConfig
    engine: AsyncEngine
    plugins: Plugins
    http: aiohttp.ClientSession
    adapters: dict[str, Adapter]
    dispatcher: Dispatcher | None
    metrics: Metrics


HUB = web.AppKey("hub", Hub)


@dataclass(frozen=True)
class RuntimeOptions:
    """How a hub process runs: which store, whether it dispatches, how it stops."""

    store_url: str | None = None
    dispatch: bool = True
    worker: str | None = None
    plugins: tuple[object, ...] = ()
    """Plugins to load besides the installed ones (the adapter kit's in-process hub)."""


def hub_context(
    config: HubConfig, options: RuntimeOptions
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that starts the hub with the app and stops it, gracefully, with the app."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        store = config.settings.store
        engine = create_engine(options.store_url, connections=store.api_connections, name="hub:api")
        # A window's filing must not queue behind delivery work for a connection. On PostgreSQL
        # the dispatcher and the relay get a pool of their own. On SQLite (one connection, one
        # writer) they take the turns at it that no request is waiting for (hub.store.turns);
        # a second connection would instead wait for the file's write lock in SQLite's sleeping
        # busy handler and lose it to the dispatcher again and again (measured: p50 of seconds
        # at 100 filings/s).
        work_engine = (
            engine.background()
            if isinstance(engine, SQLiteEngine)
            else create_engine(
                options.store_url, connections=store.work_connections, name="hub:work"
            )
        )
        checkpointer = None
        try:
            await migrate(engine)
            checkpointer = await checkpoint_in_background(engine)
            plugins = Plugins(make_plugin_manager(options.plugins))
            infos = plugins.adapters()
            problems = check_adapters(config, infos)
            if problems:
                raise ConfigError(problems)
            # A calendar out of date must not stop the window on 1 January: the hub serves, says
            # so here, and flags each due date counted past it (beyond_calendar).
            coverage = check_coverage(
                config.calendar, calendar_file(config.directory), config.clock.today(utcnow())
            )
            for gap in (*coverage.problems, *coverage.warnings):
                log.warning("calendar.not_covered", problem=str(gap))
            # No global connection limit: each department's own limit is its bulkhead, and a
            # shared pool would let one slow department hold connections the others need.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                adapters = build_adapters(config, infos, http)
                metrics = Metrics()
                dispatcher = None
                if options.dispatch:
                    dispatcher = Dispatcher(
                        work_engine, config, adapters, worker=options.worker, metrics=metrics
                    )
                app[HUB] = Hub(config, engine, plugins, http, adapters, dispatcher, metrics)
                background = []
                if dispatcher is not None:
                    relay = Relay(
                        work_engine,
                        plugins,
                        dispatcher.worker,
                        config.settings.dispatch.poll_interval,
                    )
                    supervisor = Supervisor(work_engine, config, plugins)
                    background = [
                        asyncio.create_task(dispatcher.run()),
                        asyncio.create_task(relay.run()),
                        asyncio.create_task(supervisor.run()),
                    ]
                try:
                    yield
                finally:
                    if dispatcher is not None:
                        relay.stop()
                        supervisor.stop()
                        await dispatcher.stop()
                    for task in background:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
        finally:
            if checkpointer is not None:
                await asyncio.to_thread(checkpointer.stop)
            if work_engine.sync_engine is not engine.sync_engine:
                await work_engine.dispose()
            await engine.dispose()

    return context


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
