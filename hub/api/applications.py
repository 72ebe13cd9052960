"""/api/v1/applications: file an application, and follow it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from hub.api.body import json_object
from hub.api.middlewares import CALLER
from hub.api.problems import ProblemError
from hub.applications import (
    application_view,
    file_application,
    find_by_idempotency_key,
    request_hash,
)
from hub.auth import FRONTEND, allow
from hub.problems import ValidationProblem
from hub.runtime import HUB
from hub.tracking import query_code

routes = web.RouteTableDef()


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _accepted(
    application_id: str,
    reference: str,
    statutory_due: date,
    promised_due: date,
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
            "due": {"statutory": statutory_due.isoformat(), "promised": promised_due.isoformat()},
            "links": {
                "self": location,
                "events": f"{location}/events",
                "track": f"/api/v1/track/{reference}",
            },
        },
        status=202,
        headers=headers,
    )


def _same_filing(existing: RowMapping, data: dict[str, Any], secret: str) -> web.Response:
    """The answer to a repeated Idempotency-Key: the same application, or 409 for another body."""
    if existing["request_sha256"] != request_hash(data):
        raise ProblemError(
            409,
            "Idempotency-Key reused",
            "this Idempotency-Key was used with a different body; use a new key for a new filing",
            kind="idempotency-conflict",
            application_id=existing["id"],
        )
    return _accepted(
        existing["id"],
        existing["reference"],
        existing["statutory_due"],
        existing["promised_due"],
        secret,
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
        existing = await find_by_idempotency_key(hub.engine, scoped)
        if existing is not None:
            return _same_filing(existing, data, hub.config.secret_key)
    try:
        filed = await file_application(
            hub.engine, hub.config, hub.plugins, data, idempotency_key=scoped
        )
    except IntegrityError:
        # The same key arrived twice at once and the other request won the race.
        existing = await find_by_idempotency_key(hub.engine, scoped) if scoped else None
        if existing is None:
            raise
        return _same_filing(existing, data, hub.config.secret_key)
    if hub.dispatcher is not None:
        hub.dispatcher.notify()
    return _accepted(
        filed.id, filed.reference, filed.statutory_due, filed.promised_due, hub.config.secret_key
    )


@routes.get("/api/v1/applications/{id}")
@allow(FRONTEND)
async def read(request: web.Request) -> web.Response:
    """One application: masked record, aggregated status and every delivery with its calls."""
    view = await application_view(request.app[HUB].engine, request.match_info["id"])
    if view is None:
        raise ProblemError(404, "Not Found", "no application with that id", kind="not-found")
    return web.json_response(view)
