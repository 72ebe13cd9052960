"""/api/v1/deliveries: dead letters and replay, for operators."""

from __future__ import annotations

from aiohttp import web

from hub.api.middlewares import acting
from hub.api.problems import ProblemError
from hub.api.query import Query
from hub.applications.filing import delivery_view
from hub.delivery.deadletters import replay
from hub.model.states import DeliveryState
from hub.ops.auth import allow
from hub.runtime import HUB
from hub.store import deliveries as delivery_store

routes = web.RouteTableDef()


@routes.get("/api/v1/deliveries")
@allow()
async def list_deliveries(request: web.Request) -> web.Response:
    """Deliveries by state, department or application, oldest first, a page at a time."""
    hub = request.app[HUB]
    query = Query(request, ("state", "department", "application_id", "cursor", "limit"))
    state = query.text("state", choices=[s.value for s in DeliveryState])
    department = query.text("department", choices=hub.config.departments)
    limit = query.integer("limit", 50, low=1, high=500)
    query.done()
    async with hub.engine.connect() as conn:
        rows = await delivery_store.search(
            conn,
            states=[state] if state else None,
            department=department,
            application_id=query.params.get("application_id"),
            after_id=query.params.get("cursor"),
            limit=limit,
        )
    items = [delivery_view(r, []) | {"application_id": r["application_id"]} for r in rows]
    for item in items:
        del item["attempts"]
    return web.json_response(
        {"items": items, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}
    )


@routes.post("/api/v1/deliveries/{id}/replay")
@allow()
async def replay_delivery(request: web.Request) -> web.Response:
    """Send a dead letter (or a failed delivery) again, under its delivery key."""
    hub = request.app[HUB]
    [result] = await replay(
        hub.engine, [request.match_info["id"]], by=acting(request), clock=hub.config.clock
    )
    if not result.replayed:
        status = 404 if result.reason == "no such delivery" else 409
        raise ProblemError(status, "Not replayed", result.reason, kind="not-replayable")
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return web.json_response({"id": result.delivery_id, "state": "pending"}, status=202)
