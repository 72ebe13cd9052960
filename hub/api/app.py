"""The aiohttp application: middlewares, the hub's runtime and every route."""

from __future__ import annotations

from aiohttp import web

from hub.api import (
    applications,
    callbacks,
    deliveries,
    departments,
    events,
    health,
    matters,
    openapi,
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
    ):
        app.router.add_routes(module.routes)
    return app
