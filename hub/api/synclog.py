"""/api/v1/sync-log: every call to every department, newest first; a department sees its own."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.engine import RowMapping

from hub.api.middlewares import CALLER
from hub.api.query import Query
from hub.applications.filing import attempt_view
from hub.ops.auth import OPERATOR, allow
from hub.runtime import HUB
from hub.store import attempts as attempt_store

routes = web.RouteTableDef()
FILTERS = (
    "application_id",
    "delivery_key",
    "department",
    "outcome",
    "error_code",
    "since",
    "until",
    "min_duration_ms",
    "cursor",
    "limit",
)


def log_view(row: RowMapping) -> dict[str, Any]:
    """A sync-log row with who it was for."""
    return attempt_view(row) | {
        "application_id": row["application_id"],
        "delivery_id": row["delivery_id"],
        "delivery_key": row["delivery_key"],
        "step": row["step"],
        "department": row["department"],
        "worker": row["worker"],
    }


@routes.get("/api/v1/sync-log")
@allow(OPERATOR, "department")
async def sync_log(request: web.Request) -> web.Response:
    """Calls to departments, filtered; cursor pagination, newest first. A department's client
    (role department:<code>) sees only the calls to its own department."""
    hub = request.app[HUB]
    caller = request[CALLER]
    query = Query(request, FILTERS)
    department = query.text("department", choices=hub.config.departments)
    since, until = query.moment("since"), query.moment("until")
    slow = query.integer("min_duration_ms", 0, low=0, high=86_400_000)
    cursor = query.integer("cursor", 0, low=1, high=2**62)
    limit = query.integer("limit", 100, low=1, high=1000)
    query.done()
    allowed: list[str] | None = None
    if OPERATOR not in caller.roles:
        allowed = sorted(caller.departments())
        if department is not None:
            allowed = [d for d in allowed if d == department]
    elif department is not None:
        allowed = [department]
    async with hub.engine.connect() as conn:
        rows = await attempt_store.search(
            conn,
            application_id=query.params.get("application_id"),
            delivery_key=query.params.get("delivery_key"),
            departments=allowed,
            outcome=query.params.get("outcome"),
            error_code=query.params.get("error_code"),
            since=since,
            until=until,
            min_duration_ms=slow or None,
            before_id=cursor or None,
            limit=limit,
        )
    return web.json_response(
        {
            "items": [log_view(r) for r in rows],
            "next_cursor": rows[-1]["id"] if len(rows) == limit else None,
        }
    )
