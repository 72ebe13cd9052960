"""Filing an application (record and deliveries in one transaction) and reading it back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine
from ulid import ULID

from hub.applications.intake import flagged, normalize_application
from hub.model.catalog import Catalog
from hub.model.configuration import HubConfig
from hub.model.record import ApplicationRecord
from hub.model.states import ApplicationStatus, DeliveryState, Dependencies
from hub.model.timelimits import Clock
from hub.model.tracking import new_reference, query_code
from hub.ops import audit
from hub.ops.privacy import mask_record
from hub.plugin.manager import Plugins
from hub.store import applications as app_store
from hub.store import events
from hub.store.applications import FINAL_STATUSES
from hub.store.engine import snapshot
from hub.store.types import utcnow


def request_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of a request body in canonical JSON: equal for equal bodies, whatever the order."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def find_by_idempotency_key(engine: AsyncEngine, key: str) -> RowMapping | None:
    """The application filed under an idempotency key, if any."""
    async with engine.connect() as conn:
        return await app_store.by_idempotency_key(conn, key)


def new_id() -> str:
    """A new id: 26 characters, sortable by time (ULID)."""
    return str(ULID())


class AlreadyFiled(Exception):
    """The idempotency key of a filing names an application already filed; nothing was stored."""

    def __init__(self, existing: RowMapping) -> None:
        super().__init__(existing["id"])
        self.existing = existing


@dataclass(frozen=True, slots=True)
class Filed:
    """An application as committed: what the applicant's receipt shows."""

    id: str
    record: ApplicationRecord
    reference: str
    query_code: str
    statutory_due: date
    promised_due: date
    beyond_calendar: bool


async def file_application(
    engine: AsyncEngine,
    config: HubConfig,
    plugins: Plugins | None,
    data: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    by: audit.Actor = audit.HUB,
) -> Filed:
    """Validate and store an application with one delivery per step, atomically, as version 1
    of its record, filed by `by` (the window's client and clerk; audited with it).

    Raises ValidationProblem (nothing stored) for bad input, AlreadyFiled when an application
    holds the idempotency key, and IntegrityError when another filing took the key meanwhile.
    When it returns, the application is committed: only then may it be acknowledged.
    """
    now = utcnow()
    record = normalize_application(
        data,
        config.catalog,
        plugins,
        today=config.clock.today(now),
        departments=config.departments,
    )
    matter = config.catalog[record.matter]
    application_id = new_id()
    reference = new_reference(config.clock.today(now))
    statutory_due = config.clock.due(now, matter.statutory_days)
    promised_due = config.clock.due(now, matter.promised_days)
    planned = []
    for step in matter.ordered_steps():
        planned.append(
            {
                "id": new_id(),
                "application_id": application_id,
                "step": step.name,
                "department": step.department,
                "operation": step.operation,
                "delivery_key": new_id(),
                "state": DeliveryState.WAITING if step.predecessors else DeliveryState.PENDING,
                "after": Dependencies(step.after, step.after_received).stored(),
                "uses": dict(step.uses),
                "inputs": None if step.predecessors else {},
                "attempts": 0,
                "in_doubt": False,
                "flags": flagged(record, config.departments[step.department]),
                "created_at": now,
                "updated_at": now,
            }
        )
    async with engine.begin() as conn:
        # The key is looked up by the transaction that would store it: one turn at the store
        # for a window's filing, not two.
        if idempotency_key is not None:
            existing = await app_store.by_idempotency_key(conn, idempotency_key)
            if existing is not None:
                raise AlreadyFiled(existing)
        await app_store.insert_application(
            conn,
            {
                "id": application_id,
                "matter": matter.code,
                "status": ApplicationStatus.SUBMITTED,
                "record": record.model_dump(mode="json"),
                "idempotency_key": idempotency_key,
                "request_sha256": request_hash(data) if idempotency_key else None,
                "reference": reference,
                "statutory_due": statutory_due,
                "promised_due": promised_due,
                "filed_by_client": by.client,
                "filed_by_person": by.person,
                "created_at": now,
                "updated_at": now,
            },
            planned,
        )
        await events.application_changed(
            conn, application_id, None, ApplicationStatus.SUBMITTED, now
        )
        await audit.record(
            conn,
            by,
            "application.file",
            reference,
            {"matter": matter.code, "version": 1, "steps": [p["step"] for p in planned]},
            application_id=application_id,
        )
    code = query_code(reference, config.secret_key)
    beyond = config.clock.beyond_calendar(now, statutory_due, promised_due)
    return Filed(application_id, record, reference, code, statutory_due, promised_due, beyond)


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def attempt_view(row: RowMapping) -> dict[str, Any]:
    """One sync-log row as the API shows it."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "number": row["number"],
        "started_at": _time(row["started_at"]),
        "duration_ms": row["duration_ms"],
        "outcome": row["outcome"],
        "error_code": row["error_code"],
        "error_message": row["error_message"],
        "http_status": row["http_status"],
        "fault_code": row["fault_code"],
        "request_bytes": row["request_bytes"],
        "response_bytes": row["response_bytes"],
        "request_sha256": row["request_sha256"],
        "response_sha256": row["response_sha256"],
        "payload_sha256": row["payload_sha256"],
    }


def _dependencies(stored: Any) -> dict[str, list[str]]:
    """The steps a delivery waits for: `after` their approval, `after_received` their receipt."""
    dependencies = Dependencies.read(stored)
    return {"after": list(dependencies.approved), "after_received": list(dependencies.received)}


def delivery_view(row: RowMapping, attempts: list[RowMapping]) -> dict[str, Any]:
    """One delivery as the API shows it: where it stands, its receipt, its calls."""
    error = None
    if row["last_error_code"]:
        error = {"code": row["last_error_code"], "message": row["last_error_message"]}
    return {
        "id": row["id"],
        "step": row["step"],
        "department": row["department"],
        "operation": row["operation"],
        "delivery_key": row["delivery_key"],
        "state": row["state"],
        **_dependencies(row["after"]),
        "inputs": row["inputs"],
        "receipt": {"reference": row["receipt_reference"]} if row["receipt_reference"] else None,
        "outputs": row["outputs"],
        "department_status": {"code": row["department_code"], "message": row["department_message"]}
        if row["department_code"]
        else None,
        "attempt_count": row["attempts"],
        "next_attempt_at": _time(row["next_attempt_at"]),
        "next_poll_at": _time(row["next_poll_at"]),
        "decided_at": _time(row["decided_at"]),
        "cancel_requested": row["cancel_requested_at"] is not None,
        "corrections": row["corrections"],
        "correction_requests": row["correction_requests"],
        # Asked to correct again after a correction was sent: everything to correct is to be
        # told at once (Administrative Licensing Law, art. 32), so supervisors see it.
        "repeated_correction_request": row["correction_requests"] > 1,
        "record_version": row["record_version"],
        "flags": row["flags"] or {},
        "last_error": error,
        "attempts": [attempt_view(a) for a in attempts],
    }


def due_view(application: RowMapping, clock: Clock, now: datetime) -> dict[str, Any]:
    """The application's time limits now: due dates (moved on by a stopped clock), overdue flags,
    supervision (效能监察) as last recorded and the working days extensions added.

    `beyond_calendar` is true while a limit runs into a year the holiday calendar does not
    cover: that part was counted with weekends alone, so the date may be too early.
    """
    statutory, promised = application["statutory_due"], application["promised_due"]
    # A correction owed, or a suspension (art. 45): either stops the clock.
    stopped = application["clock_stopped_at"] or application["suspended_at"]
    if stopped is not None:  # were the clock to run again today, the limits would move this far
        statutory, promised = (
            clock.extend(statutory, stopped, now),
            clock.extend(promised, stopped, now),
        )
    running = application["status"] not in FINAL_STATUSES
    today = clock.today(now)
    if application["suspended_at"] is not None:
        state = "suspended"
    elif stopped is not None:
        state = "stopped"
    else:
        state = "running" if running else "done"
    return {
        "statutory": statutory.isoformat(),
        "promised": promised.isoformat(),
        "clock": state,
        "overdue": running and stopped is None and today > promised,
        "statutory_overdue": running and stopped is None and today > statutory,
        "beyond_calendar": clock.beyond_calendar(application["created_at"], statutory, promised),
        "supervision": application["supervision"] if running else "done",
        "extension_days": application["extension_days"],
    }


def step_due_view(
    application: RowMapping,
    row: RowMapping,
    limit_days: int | None,
    amber_days: int,
    clock: Clock,
    now: datetime,
) -> dict[str, Any] | None:
    """A step's own limit, where its matter gives one: counted from the day it reached its
    department, moved on while the application's clock stands; None for a step without one."""
    if limit_days is None:
        return None
    started = row["first_attempt_at"]
    if started is None:  # not with its department yet: its limit has not begun
        return {"limit_days": limit_days, "due": None, "supervision": "normal"}
    due = clock.due(started, limit_days)
    stopped = application["clock_stopped_at"] or application["suspended_at"]
    if stopped is not None:
        due = clock.extend(due, stopped, now)
    decided = row["state"] in ("approved", "rejected", "cancelled")
    state = "done" if decided else clock.supervision(due, now, amber_days)
    return {"limit_days": limit_days, "due": due.isoformat(), "supervision": state}


def application_summary(application: RowMapping, clock: Clock, now: datetime) -> dict[str, Any]:
    """An application in a listing: no record, no deliveries."""
    return {
        "id": application["id"],
        "reference": application["reference"],
        "matter": application["matter"],
        "status": application["status"],
        "created_at": _time(application["created_at"]),
        "updated_at": _time(application["updated_at"]),
        "due": due_view(application, clock, now),
    }


async def application_view(
    engine: AsyncEngine, application_id: str, clock: Clock, catalog: Catalog | None = None
) -> dict[str, Any] | None:
    """The application with its record masked, its status and every delivery (with its step's
    own limit, where the catalog gives one), or None."""
    async with snapshot(engine) as conn:
        application = await app_store.get_application(conn, application_id)
        if application is None:
            return None
        rows = await app_store.deliveries_of(conn, application_id)
        calls = await app_store.attempts_of(conn, application_id)
    by_delivery: dict[str, list[RowMapping]] = {}
    for call in calls:
        by_delivery.setdefault(call["delivery_id"], []).append(call)
    now = utcnow()
    matter = catalog.matters.get(application["matter"]) if catalog is not None else None
    deliveries = []
    for r in rows:
        step = matter.steps.get(r["step"]) if matter is not None else None
        due = step_due_view(
            application,
            r,
            step.limit_days if step is not None else None,
            matter.amber_days if matter is not None else 0,
            clock,
            now,
        )
        deliveries.append(delivery_view(r, by_delivery.get(r["id"], [])) | {"due": due})
    return application_summary(application, clock, now) | {
        "filed_by": {
            "client": application["filed_by_client"],
            "person": application["filed_by_person"],
        },
        "record_version": application["record_version"],
        "record": mask_record(application["record"]),
        "deliveries": deliveries,
    }


async def versions_view(engine: AsyncEngine, application_id: str) -> list[dict[str, Any]] | None:
    """Every version of an application's record, each masked like the record; None if no such
    application."""
    async with snapshot(engine) as conn:
        if await app_store.get_application(conn, application_id) is None:
            return None
        rows = await app_store.versions_of(conn, application_id)
    return [
        {
            "version": row["version"],
            "filed_at": _time(row["filed_at"]),
            "filed_by": {"client": row["filed_by_client"], "person": row["filed_by_person"]},
            "record": mask_record(row["record"]),
        }
        for row in rows
    ]
