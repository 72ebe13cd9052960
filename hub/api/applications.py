"""/api/v1/applications: file an application, and follow it."""

from __future__ import annotations

from aiohttp import web

from hub.api.body import json_object
from hub.api.problems import ProblemError
from hub.applications import application_view, file_application
from hub.auth import FRONTEND, allow
from hub.runtime import HUB

routes = web.RouteTableDef()


@routes.post("/api/v1/applications")
@allow(FRONTEND)
async def submit(request: web.Request) -> web.Response:
    """File an application; 202 once it and its deliveries are committed, never before."""
    hub = request.app[HUB]
    data = await json_object(request)
    application_id, _ = await file_application(hub.engine, hub.config.catalog, hub.plugins, data)
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    location = f"/api/v1/applications/{application_id}"
    return web.json_response(
        {"id": application_id, "status": "submitted", "links": {"self": location}},
        status=202,
        headers={"Location": location},
    )


@routes.get("/api/v1/applications/{id}")
@allow(FRONTEND)
async def read(request: web.Request) -> web.Response:
    """One application: masked record, aggregated status and every delivery with its calls."""
    view = await application_view(request.app[HUB].engine, request.match_info["id"])
    if view is None:
        raise ProblemError(404, "Not Found", "no application with that id", kind="not-found")
    return web.json_response(view)
