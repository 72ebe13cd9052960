"""效能监察 for the center's supervisors: extensions, suspensions and the amber and red cases."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from hub.api.applications import not_found
from hub.api.body import json_object
from hub.api.middlewares import acting
from hub.api.problems import ProblemError
from hub.api.query import Query
from hub.applications import supervision as acts
from hub.applications.filing import application_summary
from hub.ops.auth import SUPERVISOR, allow
from hub.runtime import HUB
from hub.store.applications import FINAL_STATUSES
from hub.store.tables import applications
from hub.store.types import utcnow

routes = web.RouteTableDef()


def _answer(act: acts.Act, request: web.Request, status: int) -> web.Response:
    hub = request.app[HUB]
    summary = application_summary(act.application, hub.config.clock, utcnow())
    return web.json_response({"act": act.act, "due": summary["due"]}, status=status)


def _conflict(exc: acts.Conflict) -> ProblemError:
    return ProblemError(409, "Time limit act refused", str(exc), kind=exc.kind)


@routes.post("/api/v1/applications/{id}/extensions")
@allow(SUPERVISOR)
async def extend(request: web.Request) -> web.Response:
    """Extend the limits by working days, within the matter's extension_days_max (art. 42)."""
    hub = request.app[HUB]
    data = await json_object(request)
    try:
        act = await acts.extend(
            hub.engine, hub.config, request.match_info["id"], data, acting(request), utcnow()
        )
    except acts.NotFound as exc:
        raise not_found() from exc
    except acts.Conflict as exc:
        raise _conflict(exc) from exc
    return _answer(act, request, 201)


@routes.post("/api/v1/applications/{id}/suspensions")
@allow(SUPERVISOR)
async def suspend(request: web.Request) -> web.Response:
    """Stop the clock for a hearing, inspection, testing, quarantine or expert review (art. 45)."""
    hub = request.app[HUB]
    data = await json_object(request)
    try:
        act = await acts.suspend(
            hub.engine, hub.config, request.match_info["id"], data, acting(request), utcnow()
        )
    except acts.NotFound as exc:
        raise not_found() from exc
    except acts.Conflict as exc:
        raise _conflict(exc) from exc
    return _answer(act, request, 201)


@routes.post("/api/v1/applications/{id}/suspensions/current/resume")
@allow(SUPERVISOR)
async def resume(request: web.Request) -> web.Response:
    """End the current suspension; the limits move on by the working days it lasted."""
    hub = request.app[HUB]
    try:
        act = await acts.resume(
            hub.engine, hub.config, request.match_info["id"], acting(request), utcnow()
        )
    except acts.NotFound as exc:
        raise not_found() from exc
    except acts.Conflict as exc:
        raise _conflict(exc) from exc
    return _answer(act, request, 200)


@routes.get("/api/v1/supervision")
@allow(SUPERVISOR)
async def cases(request: web.Request) -> web.Response:
    """Undecided applications in amber or red, newest first; by state and matter; cursor pages."""
    hub = request.app[HUB]
    query = Query(request, ("state", "matter", "cursor", "limit"))
    state = query.text("state", choices=("amber", "red"))
    matter = query.text("matter", choices=hub.config.catalog.matters)
    limit = query.integer("limit", 50, low=1, high=500)
    query.done()
    select_cases = (
        select(applications)
        .where(
            applications.c.status.not_in(FINAL_STATUSES),
            applications.c.supervision.in_([state] if state else ["amber", "red"]),
        )
        .order_by(applications.c.id.desc())
        .limit(limit)
    )
    if matter:
        select_cases = select_cases.where(applications.c.matter == matter)
    cursor = query.params.get("cursor")
    if cursor:
        select_cases = select_cases.where(applications.c.id < cursor)
    now = utcnow()
    async with hub.engine.connect() as conn:
        rows = (await conn.execute(select_cases)).mappings().all()
    items = [
        application_summary(r, hub.config.clock, now)
        | {
            "supervision": r["supervision"],
            "since": r["supervision_since"].isoformat() if r["supervision_since"] else None,
        }
        for r in rows
    ]
    return web.json_response(
        {"items": items, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}
    )
