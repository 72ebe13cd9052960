"""/api/v1/track/{reference}: the public view of an application, for its receipt's holder."""

from __future__ import annotations

import time
from collections import deque
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from hub.api.problems import ProblemError
from hub.applications.filing import due_view
from hub.model.tracking import code_matches, normalize_reference
from hub.ops.auth import public
from hub.runtime import HUB
from hub.store import applications as app_store
from hub.store.tables import track_failures
from hub.store.types import utcnow

routes = web.RouteTableDef()

FAILURES_PER_REFERENCE = 10
"""Wrong codes for one reference within FAILURE_WINDOW before it is locked for the window."""
FAILURE_WINDOW = timedelta(hours=1)
REQUESTS_PER_MINUTE = 60
"""Lookups one client address may make a minute (per hub process)."""


class PerAddress:
    """A sliding minute of lookups per client address, held in memory.

    In memory rather than in the store: it only blunts floods from one address; what stops
    guessing a code is the per-reference count, which is in the store for every process to see.
    """

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        window = self.seen.setdefault(address, deque())
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= REQUESTS_PER_MINUTE:
            return False
        window.append(now)
        if len(self.seen) > 10_000:  # forget quiet addresses rather than grow without bound
            self.seen = {a: w for a, w in self.seen.items() if w and now - w[-1] < 60}
        return True


LIMITER = web.AppKey("track_limiter", PerAddress)


def too_many(detail: str, retry_after: int) -> ProblemError:
    """A 429 problem with Retry-After."""
    return ProblemError(
        429,
        "Too Many Requests",
        detail,
        kind="rate-limited",
        headers={"Retry-After": str(retry_after)},
    )


@routes.get("/api/v1/track/{reference}")
@public
async def track(request: web.Request) -> web.Response:
    """Status per department and due date, for whoever holds the receipt (reference + ?code=).

    No personal data. A wrong code and an unknown reference get the same 404.
    """
    hub = request.app[HUB]
    if not request.app[LIMITER].allow(request.remote or "?"):
        raise too_many("too many lookups from this address; wait a minute", 60)
    reference = normalize_reference(request.match_info["reference"])
    code = request.query.get("code", "")
    now = utcnow()
    async with hub.engine.begin() as conn:
        recent = (
            await conn.execute(
                select(func.count()).where(
                    track_failures.c.reference == reference,
                    track_failures.c.at > now - FAILURE_WINDOW,
                )
            )
        ).scalar_one()
        if recent >= FAILURES_PER_REFERENCE:
            raise too_many("too many wrong codes for this reference; try again in an hour", 3600)
        application = await app_store.by_reference(conn, reference)
        if application is None or not code_matches(reference, code, hub.config.secret_key):
            await conn.execute(track_failures.insert().values(reference=reference, at=now))
            failed = True
        else:
            failed = False
            steps = await app_store.deliveries_of(conn, application["id"])
    if failed:
        raise ProblemError(
            404, "Not Found", "no application with that reference and code", kind="not-found"
        )
    return web.json_response(public_view(request, application, steps, now))


def public_view(
    request: web.Request, application: Any, steps: list[Any], now: Any
) -> dict[str, Any]:
    """What the receipt's holder may see: the matter, each department's progress, the due date."""
    hub = request.app[HUB]
    matter = hub.config.catalog.matters.get(application["matter"])
    return {
        "reference": application["reference"],
        "matter": {
            "code": application["matter"],
            "name": matter.name if matter else application["matter"],
        },
        "status": application["status"],
        "submitted_on": hub.config.clock.today(application["created_at"]).isoformat(),
        "due": due_view(application, hub.config.clock, now),
        "steps": [
            {
                "step": (
                    matter.steps[row["step"]].label
                    if matter and row["step"] in matter.steps
                    else ""
                )
                or row["step"],
                "department": hub.config.departments[row["department"]].name
                if row["department"] in hub.config.departments
                else row["department"],
                "state": row["state"],
                "decided_on": hub.config.clock.today(row["decided_at"]).isoformat()
                if row["decided_at"]
                else None,
            }
            for row in steps
        ],
    }
