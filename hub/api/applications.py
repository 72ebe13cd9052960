"""/api/v1/applications: file an application, and follow it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from hub.api.body import json_object
from hub.api.middlewares import CALLER, acting
from hub.api.problems import ProblemError
from hub.api.query import Query
from hub.applications.cancellation import request_cancel
from hub.applications.corrections import NotAwaitingCorrection, correct
from hub.applications.filing import (
    AlreadyFiled,
    application_summary,
    application_view,
    file_application,
    find_by_idempotency_key,
    request_hash,
    versions_view,
)
from hub.model.configuration import HubConfig
from hub.model.problems import ValidationProblem
from hub.model.states import ApplicationStatus
from hub.model.tracking import query_code
from hub.ops import audit
from hub.ops.auth import FRONTEND, allow
from hub.ops.privacy import scrub_text
from hub.runtime import HUB
from hub.store import applications as app_store
from hub.store.types import utcnow

routes = web.RouteTableDef()


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _accepted(
    application_id: str,
    reference: str,
    statutory_due: date,
    promised_due: date,
    beyond_calendar: bool,
    secret: str,
    *,
    replayed: bool = False,
) -> web.Response:
    """202 with the applicant's receipt: reference, query code and due dates."""
    location = f"/api/v1/applications/{application_id}"
    headers = {"Location": location}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return web.json_response(
        {
            "id": application_id,
            "status": "submitted",
            "reference": reference,
            "query_code": query_code(reference, secret),
            "due": {
                "statutory": statutory_due.isoformat(),
                "promised": promised_due.isoformat(),
                "beyond_calendar": beyond_calendar,
            },
            "links": {
                "self": location,
                "events": f"{location}/events",
                "track": f"/api/v1/track/{reference}",
            },
        },
        status=202,
        headers=headers,
    )


def _same_filing(existing: RowMapping, data: dict[str, Any], config: HubConfig) -> web.Response:
    """The answer to a repeated Idempotency-Key: the same application, or 409 for another body."""
    if existing["request_sha256"] != request_hash(data):
        raise ProblemError(
            409,
            "Idempotency-Key reused",
            "this Idempotency-Key was used with a different body; use a new key for a new filing",
            kind="idempotency-conflict",
            application_id=existing["id"],
        )
    statutory, promised = existing["statutory_due"], existing["promised_due"]
    return _accepted(
        existing["id"],
        existing["reference"],
        statutory,
        promised,
        config.clock.beyond_calendar(existing["created_at"], statutory, promised),
        config.secret_key,
        replayed=True,
    )


@routes.post("/api/v1/applications")
@allow(FRONTEND)
async def submit(request: web.Request) -> web.Response:
    """File an application; 202 once it and its deliveries are committed, never before.

    With an Idempotency-Key, a repeat of the same body answers the same application, and the
    same key with another body is 409.
    """
    hub = request.app[HUB]
    data = await json_object(request)
    key = request.headers.get("Idempotency-Key")
    scoped = None
    if key is not None:
        if not IDEMPOTENCY_KEY.match(key):
            raise ValidationProblem.single(
                "header.Idempotency-Key", "format", "1 to 200 printable ASCII characters"
            )
        # Keys are the client's own: two clients never collide on the same key.
        scoped = f"{request[CALLER].name}:{key}"
    try:
        filed = await file_application(
            hub.engine, hub.config, hub.plugins, data, idempotency_key=scoped, by=acting(request)
        )
    except AlreadyFiled as exc:
        return _same_filing(exc.existing, data, hub.config)
    except (ValidationProblem, IntegrityError) as exc:
        # A repeat is answered as the first filing was even where its body no longer passes
        # (the catalog changed since); and the same key may have arrived twice at once, the
        # other request winning the race.
        existing = await find_by_idempotency_key(hub.engine, scoped) if scoped else None
        if existing is None:
            if isinstance(exc, ValidationProblem):
                await _refused(request, data, exc)
            raise
        return _same_filing(existing, data, hub.config)
    hub.metrics.filed.labels(filed.record.matter).inc()
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return _accepted(
        filed.id,
        filed.reference,
        filed.statutory_due,
        filed.promised_due,
        filed.beyond_calendar,
        hub.config.secret_key,
    )


async def _refused(request: web.Request, data: dict[str, Any], refusal: ValidationProblem) -> None:
    """A filing refused at intake is an act too: audited with its field paths and codes, never
    the values or the messages (which may quote what the applicant wrote)."""
    matter = data.get("matter")
    known = isinstance(matter, str) and matter in request.app[HUB].config.catalog.matters
    await audit.append(
        request.app[HUB].engine,
        acting(request),
        "application.refuse",
        None,
        {
            "matter": matter if known else None,
            # A path may quote the body's own keys (an unknown field): scrubbed like a log line.
            "errors": [{"field": scrub_text(p.field), "code": p.code} for p in refusal.problems],
        },
    )


@routes.get("/api/v1/applications/{id}")
@allow(FRONTEND)
async def read(request: web.Request) -> web.Response:
    """One application: masked record, status, due dates and every delivery with its calls."""
    hub = request.app[HUB]
    view = await application_view(
        hub.engine, request.match_info["id"], hub.config.clock, hub.config.catalog
    )
    if view is None:
        raise not_found()
    return web.json_response(view)


@routes.get("/api/v1/applications/{id}/versions")
@allow(FRONTEND)
async def versions(request: web.Request) -> web.Response:
    """Every version of the application's record (the filing is 1), each masked, with who filed
    it and when."""
    hub = request.app[HUB]
    found = await versions_view(hub.engine, request.match_info["id"])
    if found is None:
        raise not_found()
    return web.json_response({"items": found})


def not_found() -> ProblemError:
    """The 404 for an application id that does not exist."""
    return ProblemError(404, "Not Found", "no application with that id", kind="not-found")


@routes.get("/api/v1/applications")
@allow(FRONTEND)
async def list_applications(request: web.Request) -> web.Response:
    """Applications, newest first, by status, matter, department, overdue, filing time."""
    hub = request.app[HUB]
    query = Query(
        request,
        (
            "status",
            "matter",
            "department",
            "overdue",
            "submitted_after",
            "submitted_before",
            "cursor",
            "limit",
        ),
    )
    status = query.text("status", choices=[s.value for s in ApplicationStatus])
    matter = query.text("matter", choices=hub.config.catalog.matters)
    department = query.text("department", choices=hub.config.departments)
    overdue = query.text("overdue", choices=("true", "false"))
    after = query.moment("submitted_after")
    before = query.moment("submitted_before")
    limit = query.integer("limit", 50, low=1, high=500)
    query.done()
    now = utcnow()
    async with hub.engine.connect() as conn:
        rows = await app_store.search(
            conn,
            status=status,
            matter=matter,
            department=department,
            overdue_on=hub.config.clock.today(now) if overdue == "true" else None,
            submitted_after=after,
            submitted_before=before,
            before_id=query.params.get("cursor"),
            limit=limit,
        )
    items = [application_summary(r, hub.config.clock, now) for r in rows]
    if overdue == "false":
        items = [i for i in items if not i["due"]["overdue"]]
    return web.json_response(
        {"items": items, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}
    )


@routes.post("/api/v1/applications/{id}/cancel")
@allow(FRONTEND)
async def cancel(request: web.Request) -> web.Response:
    """Cancel every step not yet decided: at once where nothing left the hub, else through the
    departments that support it. 202 with what was done; 409 when everything is decided."""
    hub = request.app[HUB]
    outcome = await request_cancel(
        hub.engine, request.match_info["id"], hub.config.clock, by=acting(request)
    )
    if outcome is None:
        raise not_found()
    if not outcome.cancelled and not outcome.asked:
        raise ProblemError(
            409,
            "Already decided",
            "every step of the application is decided",
            kind="already-decided",
        )
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return web.json_response(
        {"cancelled": outcome.cancelled, "asked": outcome.asked, "decided": outcome.decided},
        status=202,
    )


@routes.post("/api/v1/applications/{id}/corrections")
@allow(FRONTEND)
async def submit_correction(request: web.Request) -> web.Response:
    """The corrected application (the whole filing, same matter), sent again to each department
    that asked for a correction. 202; 409 when no correction is owed."""
    hub = request.app[HUB]
    data = await json_object(request)
    try:
        resent = await correct(
            hub.engine, hub.config, hub.plugins, request.match_info["id"], data, by=acting(request)
        )
    except NotAwaitingCorrection as exc:
        raise ProblemError(409, "No correction owed", str(exc), kind="no-correction-owed") from exc
    if resent is None:
        raise not_found()
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return web.json_response({"resent": resent}, status=202)
