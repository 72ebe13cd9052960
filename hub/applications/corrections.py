"""Corrections: the applicant's corrected record, sent to the departments that asked for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.applications.intake import normalize_application
from hub.delivery.flow import settle
from hub.model.configuration import HubConfig
from hub.model.problems import ValidationProblem
from hub.model.states import ApplicationStatus, DeliveryState
from hub.ops import audit
from hub.plugin.manager import Plugins
from hub.store import applications as app_store
from hub.store import deliveries as delivery_store
from hub.store import events
from hub.store.types import utcnow

log = structlog.get_logger("hub.corrections")


class NotAwaitingCorrection(Exception):
    """The application is not waiting for a correction: there is nothing to correct."""


def corrected_key(delivery_key: str, correction: int) -> str:
    """The delivery key of a correction: the first filing's key, marked with its number.

    A department that deduplicates sees a new request, not a repeat of the first filing.
    """
    return f"{delivery_key.split('-C')[0]}-C{correction}"


def changed_fields(old: Any, new: Any, path: str = "") -> list[str]:
    """The dotted paths where two records differ (paths only: the values are personal data)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            found += changed_fields(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found += changed_fields(a, b, f"{path}[{index}]")
        return found
    return [] if old == new else [path]


async def correct(
    engine: AsyncEngine,
    config: HubConfig,
    plugins: Plugins | None,
    application_id: str,
    data: Mapping[str, Any],
    *,
    by: audit.Actor = audit.HUB,
) -> list[str] | None:
    """Store the corrected record as the next version and resend it to each step that asked;
    None if no such application. Raises ValidationProblem for a bad record,
    NotAwaitingCorrection otherwise. Audited with `by`, naming the fields changed."""
    async with engine.connect() as conn:
        application = await app_store.get_application(conn, application_id)
    if application is None:
        return None
    if application["status"] != ApplicationStatus.NEEDS_CORRECTION:
        raise NotAwaitingCorrection(f"the application is {application['status']}")
    # A correction is filed again: the acceptance rules hold on the day it arrives.
    record = normalize_application(
        data,
        config.catalog,
        plugins,
        today=config.clock.today(utcnow()),
        departments=config.departments,
    )
    if record.matter != application["matter"]:
        raise ValidationProblem.single(
            "matter", "changed", f"a correction keeps the matter {application['matter']}"
        )
    now = utcnow()
    resent = []
    corrected = record.model_dump(mode="json")
    async with engine.begin() as conn:
        version = await app_store.update_record(
            conn, application_id, corrected, now, client=by.client, person=by.person
        )
        for row in await app_store.deliveries_of(conn, application_id):
            if row["state"] != DeliveryState.NEEDS_CORRECTION:
                continue
            number = row["corrections"] + 1
            await delivery_store.set_state(
                conn,
                row["id"],
                DeliveryState.PENDING,
                now,
                corrections=number,
                delivery_key=corrected_key(row["delivery_key"], number),
                payload=None,
                payload_operation=None,
                payload_content_type=None,
                payload_sha256=None,
                record_version=None,
                in_doubt=False,
                next_attempt_at=None,
                next_poll_at=None,
                retry_base=row["attempts"],
                first_attempt_at=None,
            )
            await events.delivery_changed(
                conn,
                row,
                DeliveryState.PENDING,
                now,
                code="corrected",
                message=f"correction {number}",
            )
            resent.append(row["step"])
        await settle(conn, application_id, now, config.clock)
        await audit.record(
            conn,
            by,
            "application.correct",
            application["reference"],
            {
                "version": version,
                "steps": resent,
                "fields": changed_fields(application["record"], corrected),
            },
            application_id=application_id,
        )
    log.info("application.corrected", application_id=application_id, steps=resent)
    return resent
