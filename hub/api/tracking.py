"""/api/v1/track/{reference}: the public view of an application, for its receipt's holder."""

from __future__ import annotations

import calendar
import time
from collections import deque
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from hub.api.problems import ProblemError
from hub.applications.filing import due_view, step_due_view
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


# The law's vocabulary for where a step stands (Administrative Licensing Law arts. 29-38).
OFFICIAL = {
    "waiting": ("收件", "received"),
    "pending": ("收件", "received"),
    "failed": ("收件", "received"),  # the hub's own fault: operators mend it, the filing stands
    "dead": ("收件", "received"),
    "submitted": ("受理", "accepted"),
    "in_review": ("审查中", "under review"),
    "needs_correction": ("补正", "correction required"),
    "approved": ("办结（准予）", "approved"),
}
NOT_ACCEPTED = ("不予受理", "not accepted")
REFUSED = ("不予许可", "refused")
WITHDRAWN = ("撤回", "withdrawn")
TERMINATED = ("终止", "terminated")

REVIEW_DAYS = 60
"""Administrative Review Law art. 20: review may be applied for within 60 days of the decision."""
LITIGATION_MONTHS = 6
"""Administrative Procedure Law art. 46: a suit within 6 months of knowing of the decision."""


def _words(pair: tuple[str, str]) -> dict[str, str]:
    return {"zh": pair[0], "en": pair[1]}


def official(row: Any) -> tuple[str, str]:
    """A step's state in the law's words: a refusal with no receipt was never accepted."""
    state = row["state"]
    if state == "rejected":
        return REFUSED if row["receipt_reference"] else NOT_ACCEPTED
    if state == "cancelled":
        # Cancelled by the hub because a step before it was refused: the matter ended there.
        return TERMINATED if row["last_error_code"] == "upstream_refused" else WITHDRAWN
    return OFFICIAL.get(state, ("收件", "received"))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def refusal(row: Any, decided: date) -> dict[str, Any]:
    """The refusal's reason and the applicant's remedies (Administrative Licensing Law art. 38)."""
    reason = row["department_message"] or row["department_code"] or ""
    review_by = decided + timedelta(days=REVIEW_DAYS)
    litigation_by = add_months(decided, LITIGATION_MONTHS)
    return {
        "reason": {"zh": f"不予许可的理由：{reason}", "en": f"Reason for refusal: {reason}"},
        "remedies": {
            "zh": f"如不服本决定，可自收到之日起六十日内（{review_by.isoformat()}前）依法申请"
            f"行政复议，或者六个月内（{litigation_by.isoformat()}前）依法提起行政诉讼。",
            "en": "If you disagree with this decision, you may apply for administrative review "
            f"within 60 days (by {review_by.isoformat()}) or bring an administrative suit "
            f"within 6 months (by {litigation_by.isoformat()}).",
        },
        "review_by": review_by.isoformat(),
        "litigation_by": litigation_by.isoformat(),
    }


def public_view(
    request: web.Request, application: Any, steps: list[Any], now: Any
) -> dict[str, Any]:
    """What the receipt's holder may see: the matter, each department's step in the law's words
    (Chinese with English beside it), what to correct, a refusal's reason and remedies, the due
    dates. No personal data: department messages are scrubbed when stored."""
    hub = request.app[HUB]
    clock = hub.config.clock
    matter = hub.config.catalog.matters.get(application["matter"])
    due = due_view(application, clock, now)
    shown = []
    for row in steps:
        step = matter.steps.get(row["step"]) if matter else None
        decided = clock.today(row["decided_at"]) if row["decided_at"] else None
        step_due = step_due_view(
            application,
            row,
            step.limit_days if step else None,
            matter.amber_days if matter else 0,
            clock,
            now,
        )
        correction = None
        if row["state"] == "needs_correction":
            what = row["department_message"] or row["department_code"] or ""
            correction = {
                "what": {"zh": f"需补正：{what}", "en": f"To correct: {what}"},
                # The limit waits while a correction is owed; the promised date shown is the one
                # that holds were it corrected today.
                "by": (row["outputs"] or {}).get("correct_by"),
            }
        shown.append(
            {
                "step": (step.label if step else "") or row["step"],
                "department": hub.config.departments[row["department"]].name
                if row["department"] in hub.config.departments
                else row["department"],
                "state": row["state"],
                "official": _words(official(row)),
                "decided_on": decided.isoformat() if decided else None,
                "due": step_due["due"] if step_due else None,
                "correction": correction,
                "refusal": refusal(row, decided)
                if row["state"] == "rejected" and decided
                else None,
            }
        )
    return {
        "reference": application["reference"],
        "matter": {
            "code": application["matter"],
            "name": matter.name if matter else application["matter"],
        },
        "status": application["status"],
        "submitted_on": clock.today(application["created_at"]).isoformat(),
        "due": due,
        "steps": shown,
    }
