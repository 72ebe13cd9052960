"""Time-limit acts of the center's supervisors (效能监察): extensions, suspensions, resumptions.

Each act changes the application's due dates in one transaction with its own row in
time_limit_acts and an audit entry naming who did it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.applications.filing import new_id
from hub.model.configuration import HubConfig
from hub.model.problems import Problem, ValidationProblem
from hub.model.states import ApplicationStatus
from hub.model.timelimits import SUPERVISION_RANK
from hub.ops import audit
from hub.ops.audit import Actor
from hub.store.tables import applications, time_limit_acts

SUSPENSION_REASONS = ("hearing", "inspection", "testing", "quarantine", "expert_review")
"""What by law does not count toward a limit (Administrative Licensing Law art. 45)."""

RUNNING = (ApplicationStatus.SUBMITTED, ApplicationStatus.IN_PROGRESS)
"""Statuses in which the clock runs (a correction owed stops it; a decision ends it)."""

RANK = SUPERVISION_RANK


class NotFound(Exception):
    """No application with that id."""


class Conflict(Exception):
    """The act does not fit the application's state; the message names the rule."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Act:
    """One act as stored, and the application's due dates after it."""

    act: dict[str, Any]
    application: RowMapping


def _text(data: dict[str, Any], name: str, *, required: bool, limit: int) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationProblem.single(name, "required", f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ValidationProblem.single(name, "too_long", f"{name} is longer than {limit}")
    return value.strip()


def _only(data: dict[str, Any], names: tuple[str, ...]) -> None:
    unknown = [
        Problem(key, "unknown_field", f"unknown field; expected {', '.join(names)}")
        for key in data
        if key not in names
    ]
    if unknown:
        raise ValidationProblem(unknown)


async def _locked(conn: AsyncConnection, application_id: str) -> RowMapping:
    query = select(applications).where(applications.c.id == application_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # two supervisors' acts on one application queue here
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(application_id)
    return row


def _lowered(config: HubConfig, row: RowMapping, promised: Any, now: datetime) -> dict[str, Any]:
    """The supervision columns once the promised date moved: an act may lower the state (the
    case is no longer late); raising it is the periodic check's, which announces it."""
    matter = config.catalog.matters.get(row["matter"])
    amber_days = matter.amber_days if matter is not None else 0
    judged = config.clock.supervision(promised, now, amber_days)
    if RANK[judged] < RANK.get(row["supervision"], 0):
        return {"supervision": judged, "supervision_due": promised, "supervision_since": now}
    return {}


def _act_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "days": row["days"],
        "reason": row["reason"],
        "note": row["note"],
        "by": row["by"],
        "started_at": row["started_at"].isoformat(),
        "ended_at": row["ended_at"].isoformat() if row["ended_at"] else None,
    }


async def extend(
    engine: AsyncEngine,
    config: HubConfig,
    application_id: str,
    data: dict[str, Any],
    by: Actor,
    now: datetime,
) -> Act:
    """Move both limits on by the working days granted (art. 42), within the matter's maximum."""
    _only(data, ("days", "reason"))
    days = data.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationProblem.single("days", "range", "days must be an integer from 1 to 365")
    reason = _text(data, "reason", required=True, limit=500)
    async with engine.begin() as conn:
        row = await _locked(conn, application_id)
        if row["status"] not in RUNNING and row["status"] != ApplicationStatus.NEEDS_CORRECTION:
            raise Conflict("not-running", f"the application is {row['status']}: no limit runs")
        matter = config.catalog.matters.get(row["matter"])
        most = matter.extension_days_max if matter is not None else 0
        granted = row["extension_days"]
        if granted + days > most:
            raise ValidationProblem(
                [
                    Problem(
                        "days",
                        "extension_beyond_max",
                        f"extension_days_max: matter {row['matter']} allows {most} working "
                        f"days of extension in all (Administrative Licensing Law art. 42), "
                        f"{granted} already granted",
                        f"超过法定可延长期限：本事项共可延长 {most} 个工作日，"
                        f"已延长 {granted} 个工作日",
                    )
                ]
            )
        clock = config.clock.calendar
        statutory = clock.add_working_days(row["statutory_due"], days)
        promised = clock.add_working_days(row["promised_due"], days)
        act = {
            "id": new_id(),
            "application_id": application_id,
            "kind": "extension",
            "days": days,
            "reason": reason,
            "note": None,
            "by": by.person or by.client,
            "started_at": now,
            "ended_at": None,
        }
        await conn.execute(time_limit_acts.insert().values(**act))
        await conn.execute(
            applications.update()
            .where(applications.c.id == application_id)
            .values(
                statutory_due=statutory,
                promised_due=promised,
                extension_days=granted + days,
                updated_at=now,
                **_lowered(config, row, promised, now),
            )
        )
        await audit.record(
            conn,
            by,
            "time_limit.extended",
            application_id,
            {"days": days, "reason": reason, "statutory_due": statutory.isoformat()},
        )
        after = await _locked(conn, application_id)
    return Act(_act_view(act), after)


async def suspend(
    engine: AsyncEngine,
    config: HubConfig,
    application_id: str,
    data: dict[str, Any],
    by: Actor,
    now: datetime,
) -> Act:
    """Stop the clock for a procedure that does not count toward the limit (art. 45)."""
    _only(data, ("reason", "note"))
    reason = data.get("reason")
    if reason not in SUSPENSION_REASONS:
        raise ValidationProblem.single(
            "reason", "choice", f"reason must be one of {', '.join(SUSPENSION_REASONS)}"
        )
    note = _text(data, "note", required=False, limit=2000)
    async with engine.begin() as conn:
        row = await _locked(conn, application_id)
        if row["suspended_at"] is not None:
            raise Conflict("not-running", "the application is suspended already")
        if row["status"] not in RUNNING or row["clock_stopped_at"] is not None:
            raise Conflict(
                "not-running",
                f"the application is {row['status']}: only a running clock can be suspended",
            )
        act = {
            "id": new_id(),
            "application_id": application_id,
            "kind": "suspension",
            "days": None,
            "reason": reason,
            "note": note,
            "by": by.person or by.client,
            "started_at": now,
            "ended_at": None,
        }
        await conn.execute(time_limit_acts.insert().values(**act))
        await conn.execute(
            applications.update()
            .where(applications.c.id == application_id)
            .values(suspended_at=now, updated_at=now)
        )
        await audit.record(conn, by, "time_limit.suspended", application_id, {"reason": reason})
        after = await _locked(conn, application_id)
    return Act(_act_view(act), after)


async def resume(
    engine: AsyncEngine, config: HubConfig, application_id: str, by: Actor, now: datetime
) -> Act:
    """End the current suspension: the limits move on by the working days the clock stood."""
    async with engine.begin() as conn:
        row = await _locked(conn, application_id)
        stopped = row["suspended_at"]
        if stopped is None:
            raise Conflict("not-suspended", "the application has no current suspension")
        current = (
            (
                await conn.execute(
                    select(time_limit_acts).where(
                        time_limit_acts.c.application_id == application_id,
                        time_limit_acts.c.kind == "suspension",
                        time_limit_acts.c.ended_at.is_(None),
                    )
                )
            )
            .mappings()
            .one()
        )
        statutory = config.clock.extend(row["statutory_due"], stopped, now)
        promised = config.clock.extend(row["promised_due"], stopped, now)
        await conn.execute(
            time_limit_acts.update()
            .where(time_limit_acts.c.id == current["id"])
            .values(ended_at=now)
        )
        await conn.execute(
            applications.update()
            .where(applications.c.id == application_id)
            .values(
                suspended_at=None,
                statutory_due=statutory,
                promised_due=promised,
                updated_at=now,
                **_lowered(config, row, promised, now),
            )
        )
        await audit.record(
            conn,
            by,
            "time_limit.resumed",
            application_id,
            {"reason": current["reason"], "promised_due": promised.isoformat()},
        )
        after = await _locked(conn, application_id)
    return Act(_act_view(dict(current) | {"ended_at": now}), after)


async def acts_of(conn: AsyncConnection, application_id: str) -> list[dict[str, Any]]:
    """An application's time-limit acts, oldest first."""
    rows = await conn.execute(
        select(time_limit_acts)
        .where(time_limit_acts.c.application_id == application_id)
        .order_by(time_limit_acts.c.started_at, time_limit_acts.c.id)
    )
    return [_act_view(dict(r)) for r in rows.mappings()]
