"""/api/v1/departments: each department's health, and maintenance mode (operators only)."""

from __future__ import annotations

from aiohttp import web

from hub.api.body import json_object
from hub.api.middlewares import acting
from hub.api.problems import ProblemError
from hub.model.problems import ValidationProblem
from hub.ops import maintenance
from hub.ops.auth import allow
from hub.ops.department_health import department_health
from hub.runtime import HUB
from hub.store.types import utcnow

routes = web.RouteTableDef()


@routes.get("/api/v1/departments")
@allow()
async def list_departments(request: web.Request) -> web.Response:
    """Per department over 5 minutes, an hour and a day: calls, success rate, p50/p95/p99
    latency; open deliveries, retries scheduled, dead letters, breaker, pause."""
    hub = request.app[HUB]
    return web.json_response({"items": await department_health(hub.engine, hub.config, utcnow())})


def _department(request: web.Request) -> str:
    code = request.match_info["code"]
    if code not in request.app[HUB].config.departments:
        raise ProblemError(404, "Not Found", f"no department {code!r}", kind="not-found")
    return code


@routes.post("/api/v1/departments/{code}/pause")
@allow()
async def pause(request: web.Request) -> web.Response:
    """Pause a department: its deliveries wait, no call goes out, nothing is retried or
    dead-lettered meanwhile. Audited. 409 if it is paused already."""
    code = _department(request)
    body = await json_object(request)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise ValidationProblem.single("reason", "required", "say why, in 1 to 500 characters")
    hub = request.app[HUB]
    if not await maintenance.pause(hub.engine, code, reason.strip(), acting(request)):
        raise ProblemError(
            409, "Already paused", f"{code} is paused already", kind="already-paused"
        )
    return web.json_response({"code": code, "paused": True})


@routes.post("/api/v1/departments/{code}/resume")
@allow()
async def resume(request: web.Request) -> web.Response:
    """Resume a paused department: what waited is sent, within its limits. Audited."""
    code = _department(request)
    hub = request.app[HUB]
    if not await maintenance.resume(hub.engine, code, acting(request)):
        raise ProblemError(409, "Not paused", f"{code} is not paused", kind="not-paused")
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return web.json_response({"code": code, "paused": False})
