"""/api/v1/departments: each department's breaker and queue, as operators watch them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from hub.auth import allow
from hub.runtime import HUB
from hub.store import breakers as breaker_store
from hub.store.tables import deliveries

routes = web.RouteTableDef()


@routes.get("/api/v1/departments")
@allow()
async def list_departments(request: web.Request) -> web.Response:
    """Per department: its breaker, and how many deliveries wait, retry or lie dead."""
    hub = request.app[HUB]
    async with hub.engine.connect() as conn:
        breakers = await breaker_store.all_breakers(conn)
        counts = await conn.execute(
            select(deliveries.c.department, deliveries.c.state, func.count())
            .where(deliveries.c.state.in_(["waiting", "pending", "dead", "failed"]))
            .group_by(deliveries.c.department, deliveries.c.state)
        )
        queue: dict[str, dict[str, int]] = {}
        for department, state, count in counts:
            queue.setdefault(department, {})[state] = count
    items: list[dict[str, Any]] = []
    for code, department in hub.config.departments.items():
        breaker = breakers.get(code)
        items.append(
            {
                "code": code,
                "name": department.name,
                "adapter": department.adapter,
                "concurrency": department.concurrency,
                "breaker": {
                    "state": breaker["state"] if breaker else "closed",
                    "failures_in_a_row": breaker["failures"] if breaker else 0,
                    "open_until": breaker["open_until"].isoformat()
                    if breaker and breaker["open_until"]
                    else None,
                    "last_failure_code": breaker["last_failure_code"] if breaker else None,
                    "last_success_at": breaker["last_success_at"].isoformat()
                    if breaker and breaker["last_success_at"]
                    else None,
                },
                "deliveries": {
                    state: queue.get(code, {}).get(state, 0)
                    for state in ("waiting", "pending", "dead", "failed")
                },
            }
        )
    return web.json_response({"items": items})
