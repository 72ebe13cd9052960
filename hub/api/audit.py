"""/api/v1/audit: the audit trail, for operators, a page at a time."""

from __future__ import annotations

from aiohttp import web

from hub.api.query import Query
from hub.ops import audit
from hub.ops.auth import allow
from hub.runtime import HUB

routes = web.RouteTableDef()


@routes.get("/api/v1/audit")
@allow()
async def list_entries(request: web.Request) -> web.Response:
    """Audit entries, oldest first, by application, actor (client or person), kind and time."""
    hub = request.app[HUB]
    query = Query(request, ("application_id", "actor", "kind", "since", "until", "cursor", "limit"))
    since = query.moment("since")
    until = query.moment("until")
    cursor = query.integer("cursor", 0, low=0, high=2**62)
    limit = query.integer("limit", 50, low=1, high=500)
    query.done()
    async with hub.engine.connect() as conn:
        rows = await audit.search(
            conn,
            application_id=query.params.get("application_id"),
            actor=query.params.get("actor"),
            kind=query.params.get("kind"),
            since=since,
            until=until,
            after_id=cursor or None,
            limit=limit,
        )
    return web.json_response(
        {
            "items": [audit.entry_view(r) for r in rows],
            "next_cursor": rows[-1]["id"] if len(rows) == limit else None,
        }
    )
