"""/healthz and /readyz, for load balancers and orchestrators."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from hub.ops.auth import public
from hub.runtime import HUB
from hub.store.engine import migration_status
from hub.store.types import utcnow

routes = web.RouteTableDef()


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
@public
async def readyz(request: web.Request) -> web.Response:
    """Ready for traffic: the store answers, its schema is current, the dispatcher runs."""
    hub = request.app[HUB]
    checks: dict[str, str] = {}
    try:
        async with hub.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current, head = await migration_status(hub.engine)
        checks["store"] = "ok"
        checks["migrations"] = "ok" if current == head else f"at {current}, code expects {head}"
    except Exception as exc:
        checks["store"] = f"unreachable: {type(exc).__name__}"
    if hub.dispatcher is not None:
        checks["dispatcher"] = "ok" if hub.dispatcher.running else "not running"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


@routes.get("/metrics")
@public
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics (text exposition format): no personal data, no ids in labels."""
    hub = request.app[HUB]
    body = await hub.metrics.render(hub.engine, hub.config, utcnow())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
