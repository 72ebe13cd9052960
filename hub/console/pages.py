"""The console's pages and actions. Each page can also answer only its live part (?fragment=1),
which the page's script fetches every two seconds: live updates without reloading."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import select

from hub.applications.filing import application_view
from hub.console.charts import sparkline
from hub.console.sessions import (
    COOKIE,
    LIFETIME,
    Session,
    close_session,
    find_session,
    open_session,
)
from hub.delivery.deadletters import replay
from hub.ops import audit, maintenance
from hub.ops.auth import OPERATOR, authenticate, public
from hub.ops.department_health import department_health
from hub.ops.privacy import mask_record
from hub.runtime import HUB
from hub.store import applications as app_store
from hub.store import attempts as attempt_store
from hub.store import deliveries as delivery_store
from hub.store import events
from hub.store.tables import audit_log
from hub.store.types import utcnow

routes = web.RouteTableDef()
HERE = Path(__file__).parent
SESSION = web.RequestKey("console_session", Session)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECURITY_HEADERS = {
    # Scripts and styles only from the hub itself: nothing inline, nothing from a CDN.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def setup(app: web.Application) -> None:
    """Templates, static files and routes of the console."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    # Chinese text as people write it (tojson would show \u escapes); autoescape still applies.
    env.filters["pretty"] = lambda value: json.dumps(
        value, ensure_ascii=False, indent=2, default=str
    )
    app.router.add_static("/console/static", HERE / "static", name="console_static")
    app.router.add_routes(routes)


def page(handler: Handler) -> Handler:
    """A console page: for a logged-in operator, else off to the login form."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = await find_session(request.app[HUB].engine, request.cookies.get(COOKIE))
        if session is None:
            raise web.HTTPSeeOther(f"/console/login?next={quote(request.path_qs)}")
        request[SESSION] = session
        response = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    return public(wrapped)  # the console's own session, not the API's bearer token


def action(handler: Handler) -> Handler:
    """A console action (POST): a logged-in operator, and the session's CSRF token with it."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        given = request.headers.get("X-CSRF-Token") or str(form.get("csrf", ""))
        if given != request[SESSION].csrf:
            raise web.HTTPForbidden(text="the form is stale: reload the page and try again")
        return await handler(request)

    return page(checked)


def render(request: web.Request, name: str, context: dict[str, Any]) -> web.Response:
    """The page, or only its live part when the page's script asks for it."""
    fragment = request.query.get("fragment") == "1"
    template = f"_{name}" if fragment else name
    context = {"session": request[SESSION], "request": request, "now": utcnow(), **context}
    return aiohttp_jinja2.render_template(template, request, context)


# Login and logout ---------------------------------------------------------------------------


@routes.get("/console/login")
@public
async def login_form(request: web.Request) -> web.Response:
    """The login form: an operator's API token opens a session."""
    context = {"next": request.query.get("next", "/console"), "error": None}
    response = aiohttp_jinja2.render_template("login.html", request, context)
    response.headers.update(SECURITY_HEADERS)
    return response


@routes.post("/console/login")
@public
async def login(request: web.Request) -> web.StreamResponse:
    """Check the token (operators only), open a session, set its cookie (audited)."""
    hub = request.app[HUB]
    form = await request.post()
    target = str(form.get("next", "/console"))
    if not target.startswith("/console"):  # never redirect off the console
        target = "/console"
    caller = authenticate(str(form.get("token", "")).strip(), hub.config.settings.clients)
    person = str(form.get("name", "")).strip()
    # The operator's own name: every act of the session is audited under it (1 to 64 printable
    # characters, as X-Hub-Actor).
    if not person or len(person) > 64 or not person.isprintable():
        response = aiohttp_jinja2.render_template(
            "login.html",
            request,
            {"next": target, "error": "Give your name (1 to 64 printable characters)."},
            status=400,
        )
        response.headers.update(SECURITY_HEADERS)
        return response
    if caller is None or OPERATOR not in caller.roles:
        await audit.append(
            hub.engine, caller.name if caller else "unknown", "console.login_refused"
        )
        response = aiohttp_jinja2.render_template(
            "login.html",
            request,
            {"next": target, "error": "That token is not an operator's."},
            status=401,
        )
        response.headers.update(SECURITY_HEADERS)
        return response
    token, session = await open_session(hub.engine, caller.name, person)
    await audit.append(hub.engine, session.actor, "console.login")
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=request.secure,  # behind TLS (as in production) the cookie is Secure
    )
    raise response


@routes.post("/console/logout")
@action
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (audited) and forget the cookie."""
    hub = request.app[HUB]
    await close_session(hub.engine, request.cookies.get(COOKIE, ""))
    await audit.append(hub.engine, request[SESSION].actor, "console.logout")
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(COOKIE, path="/console")
    raise response


# Pages ---------------------------------------------------------------------------------------


@routes.get("/console")
@page
async def overview(request: web.Request) -> web.Response:
    """Applications by status, overdue, departments at a glance, the latest failures."""
    hub = request.app[HUB]
    now = utcnow()
    async with hub.engine.connect() as conn:
        statuses = await app_store.status_counts(conn)
        overdue = await app_store.overdue_count(conn, hub.config.clock.today(now))
        failures = [
            r
            for r in await attempt_store.search(conn, limit=50)
            if r["outcome"] in ("transient", "permanent", "interrupted")
        ][:10]
    departments = await department_health(hub.engine, hub.config, now)
    return render(
        request,
        "overview.html",
        {
            "statuses": statuses,
            "overdue": overdue,
            "departments": departments,
            "failures": failures,
        },
    )


@routes.get("/console/applications/{id}")
@page
async def application(request: web.Request) -> web.Response:
    """An application's timeline: record (masked), each delivery with its calls, every event."""
    return await _application(request, revealed=False)


@routes.post("/console/applications/{id}/reveal")
@action
async def reveal(request: web.Request) -> web.Response:
    """The same page with the personal data in clear, for this one view; the view is audited."""
    hub = request.app[HUB]
    await audit.append(
        hub.engine,
        request[SESSION].actor,
        "application.view_personal_data",
        request.match_info["id"],
        application_id=request.match_info["id"],
    )
    return await _application(request, revealed=True)


async def _application(request: web.Request, *, revealed: bool) -> web.Response:
    hub = request.app[HUB]
    application_id = request.match_info["id"]
    view = await application_view(hub.engine, application_id, hub.config.clock)
    if view is None:
        raise web.HTTPNotFound(text="no such application")
    async with hub.engine.connect() as conn:
        timeline = await events.of_application(conn, application_id)
        row = await app_store.get_application(conn, application_id)
    assert row is not None
    record = row["record"] if revealed else mask_record(row["record"])
    return render(
        request,
        "application.html",
        {"view": view, "record": record, "revealed": revealed, "timeline": timeline},
    )


@routes.get("/console/departments")
@page
async def departments(request: web.Request) -> web.Response:
    """Each department's health, with its latency over the last hour, and maintenance mode."""
    hub = request.app[HUB]
    report = await department_health(hub.engine, hub.config, utcnow())
    for department in report:
        department["chart"] = sparkline(department["p95_ms_per_5_minutes"])
    return render(request, "departments.html", {"departments": report})


@routes.post("/console/departments/{code}/pause")
@action
async def pause(request: web.Request) -> web.StreamResponse:
    """Pause a department (audited)."""
    hub = request.app[HUB]
    code = request.match_info["code"]
    reason = str((await request.post()).get("reason", "")).strip() or "paused from the console"
    if code in hub.config.departments:
        await maintenance.pause(hub.engine, code, reason[:500], request[SESSION].actor)
    raise web.HTTPSeeOther("/console/departments")


@routes.post("/console/departments/{code}/resume")
@action
async def resume(request: web.Request) -> web.StreamResponse:
    """Resume a department (audited)."""
    hub = request.app[HUB]
    await maintenance.resume(hub.engine, request.match_info["code"], request[SESSION].actor)
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    raise web.HTTPSeeOther("/console/departments")


LOG_FILTERS = (
    "application_id",
    "delivery_key",
    "department",
    "outcome",
    "error_code",
    "since",
    "until",
    "min_duration_ms",
)


@routes.get("/console/sync-log")
@page
async def sync_log(request: web.Request) -> web.Response:
    """The sync log, filtered as the form says, newest first."""
    hub = request.app[HUB]
    given = {k: request.query.get(k, "").strip() for k in LOG_FILTERS}
    problems = []
    moments: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        try:
            moments[name] = datetime.fromisoformat(given[name]) if given[name] else None
        except ValueError:
            problems.append(f"{name}: an ISO 8601 time, e.g. 2026-11-26T08:00+08:00")
            moments[name] = None
    slowest = given["min_duration_ms"]
    async with hub.engine.connect() as conn:
        rows = await attempt_store.search(
            conn,
            application_id=given["application_id"] or None,
            delivery_key=given["delivery_key"] or None,
            departments=[given["department"]] if given["department"] else None,
            outcome=given["outcome"] or None,
            error_code=given["error_code"] or None,
            since=moments["since"],
            until=moments["until"],
            min_duration_ms=float(slowest) if slowest.replace(".", "", 1).isdigit() else None,
            limit=200,
        )
    return render(
        request,
        "sync_log.html",
        {
            "rows": rows,
            "filters": given,
            "problems": problems,
            "departments": list(hub.config.departments),
            "outcomes": [
                "accepted",
                "transient",
                "permanent",
                "found",
                "not_found",
                "answered",
                "cancelled",
                "interrupted",
            ],
        },
    )


AUDIT_FILTERS = ("application_id", "actor", "kind", "since", "until")


def _aware(value: str) -> datetime | None:
    """A time with its offset, or None (nothing given, or not such a time)."""
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


@routes.get("/console/audit")
@page
async def audit_trail(request: web.Request) -> web.Response:
    """The audit trail, filtered as the form says, newest first: who (client, person) did what."""
    hub = request.app[HUB]
    given = {k: request.query.get(k, "").strip() for k in AUDIT_FILTERS}
    problems = []
    moments: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        moments[name] = _aware(given[name])
        if given[name] and moments[name] is None:
            problems.append(f"{name}: ISO 8601 with its offset, e.g. 2026-11-26T08:00+08:00")
    async with hub.engine.connect() as conn:
        rows = await audit.search(
            conn,
            application_id=given["application_id"] or None,
            actor=given["actor"] or None,
            kind=given["kind"] or None,
            since=moments["since"],
            until=moments["until"],
            limit=200,
            newest_first=True,
        )
    entries = [audit.entry_view(r) for r in rows]
    return render(
        request, "audit.html", {"entries": entries, "filters": given, "problems": problems}
    )


@routes.get("/console/dead-letters")
@page
async def dead_letters(request: web.Request) -> web.Response:
    """Dead letters and failed deliveries, and those replayed in the last hour as they go."""
    hub = request.app[HUB]
    async with hub.engine.connect() as conn:
        stuck = await delivery_store.search(conn, states=["dead", "failed"], limit=500)
        recent = await conn.execute(
            select(audit_log.c.subject)
            .where(
                audit_log.c.action == "delivery.replay", audit_log.c.at > utcnow() - LIFETIME / 8
            )
            .order_by(audit_log.c.id.desc())
        )
        replayed_ids = [subject for (subject,) in recent if subject]
        replayed = [
            r for r in [await delivery_store.get(conn, i) for i in dict.fromkeys(replayed_ids)] if r
        ]
    stuck_ids = {r["id"] for r in stuck}
    return render(
        request,
        "dead_letters.html",
        {"stuck": stuck, "replayed": [r for r in replayed if r["id"] not in stuck_ids]},
    )


@routes.post("/console/deliveries/{id}/replay")
@action
async def replay_delivery(request: web.Request) -> web.Response:
    """Replay one delivery (the page asked for confirmation first); audited."""
    hub = request.app[HUB]
    [result] = await replay(
        hub.engine, [request.match_info["id"]], by=request[SESSION].actor, clock=hub.config.clock
    )
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return web.json_response(
        {"replayed": result.replayed, "reason": result.reason},
        status=200 if result.replayed else 409,
    )
