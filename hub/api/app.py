"""The aiohttp application: middlewares, the hub's runtime and every route; serving it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from hub.api import (
    applications,
    audit,
    callbacks,
    deliveries,
    departments,
    events,
    health,
    matters,
    openapi,
    supervision,
    synclog,
    tracking,
)
from hub.api.body import MAX_BODY
from hub.api.middlewares import authentication, problems, request_id
from hub.console import pages as console
from hub.model.configuration import HubConfig
from hub.runtime import RuntimeOptions, hub_context


def create_app(config: HubConfig, options: RuntimeOptions | None = None) -> web.Application:
    """A web app serving the API, with the hub started and stopped alongside it."""
    app = web.Application(
        middlewares=[request_id, problems, authentication], client_max_size=MAX_BODY
    )
    app.cleanup_ctx.append(hub_context(config, options or RuntimeOptions()))
    app[tracking.LIMITER] = tracking.PerAddress()
    app[openapi.DOCUMENT] = openapi.build_document()
    console.setup(app)
    events.setup(app)
    for module in (
        applications,
        matters,
        deliveries,
        departments,
        callbacks,
        tracking,
        health,
        openapi,
        synclog,
        supervision,
        audit,
    ):
        app.router.add_routes(module.routes)
    return app


def run(app: web.Application, host: str, port: int, *, say: Callable[[str], None]) -> None:
    """Serve the app until SIGINT or SIGTERM (`hub serve`), saying where through `say`."""
    web.run_app(app, host=host, port=port, print=say, access_log_format='%a "%r" %s %b %Tf')


@contextlib.asynccontextmanager
async def listening(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """The app served on host:port (0: any free port) while the block runs; yields the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
