"""Every hook of the hub, in one place: the table of contents of its extension points.

Plugins implement these with `@hub.hookimpl`. pluggy calls hooks synchronously: a hook that
builds or picks something returns plain objects (whose methods may be async); a hook that only
observes may return an awaitable, which the hub awaits. Only `hub.plugin.manager.Plugins` calls
them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from hub.model.catalog import Matter
    from hub.model.problems import Problem
    from hub.model.record import ApplicationRecord
    from hub.plugin.adapter import Adapter

hookspec = pluggy.HookspecMarker("hub")


@hookspec
def hub_adapters() -> list[type[Adapter]]:
    """Offer adapter classes, each speaking one kind of department system.

    Called once when the hub builds its adapters, before any department is contacted. The hub
    creates one instance per department whose config names the class's `name`, passing that
    department's settings and the hub's shared aiohttp session.

    :returns: a list of `hub.plugin.adapter.Adapter` subclasses (an empty list offers none). Two
        plugins offering the same adapter name is a configuration error naming both.
    """


@hookspec
def hub_normalize_record(record: ApplicationRecord, matter: Matter) -> list[Problem] | None:
    """Check (or further normalize, in place) a record that passed the hub's own validation.

    Called for every submitted application after the record and its form fields have been
    normalized against the catalog, before anything is stored.

    :param record: the unified record; a plugin may normalize its `form` values in place.
    :param matter: the catalog entry of the record's matter.
    :returns: a list of `hub.model.problems.Problem` (field path, code, message) for everything
        wrong, or None. Raising `hub.model.problems.ValidationProblem` is equivalent. The problems
        of every plugin are reported together with the hub's own; any problem refuses the
        application.
    """


@hookspec
def hub_accept(record: ApplicationRecord, matter: Matter, today: date) -> list[Problem] | None:
    """Refuse at the window (不予受理) what a department will always refuse, by a rule in code.

    Called for every submitted application whose record parsed, together with the matter's own
    acceptance rules (its `[[acceptance]]` tables), so the applicant is told every reason at once
    (一次性告知, Administrative Licensing Law art. 32). Nothing is stored or sent when any
    problem is found.

    :param record: the normalized record; its `form` holds only the fields that passed their
        own rules (read it with `.get`). Do not change it: normalize in `hub_normalize_record`.
    :param matter: the catalog entry of the record's matter (check `matter.code` first).
    :param today: the filing day in the center's time zone, for dates and ages.
    :returns: a list of `hub.model.problems.Problem`, or None. Give each a `not_accepted.…`
        code and, for the applicant, `message_zh` beside the English `message`. Raising
        `hub.model.problems.ValidationProblem` is equivalent. Every plugin is asked.
    """


@hookspec
def hub_status_changed(
    application: Mapping[str, Any], old: str | None, new: str
) -> Awaitable[None] | None:
    """Observe an application's status changing, to tell the applicant (SMS, e-mail, the portal).

    Called once per change, in order, after it is committed, by one hub process (a relay reads the
    status events from the store; a change is announced at least once, even across restarts).

    :param application: id, reference, matter, status, created_at, statutory_due, promised_due
        and the unmasked record (the applicant's phone is there): keep personal data out of logs.
    :param old: the previous status (None when the application was just filed).
    :param new: the new status: submitted, in_progress, needs_correction, approved, rejected,
        cancelled or failed.
    :returns: None, or an awaitable the hub awaits. An exception is logged with the plugin's name
        and does not stop the other plugins.
    """


@hookspec
def hub_supervision_changed(
    application: Mapping[str, Any], old: str, new: str
) -> Awaitable[None] | None:
    """Observe an undecided application turning amber or red (效能监察), to alert supervisors.

    Called once per change, after it is recorded, by the hub process that recorded it (the
    periodic supervision check): amber when the promised date is `amber_days` working days away
    or nearer, red when it has passed. A return to normal (an extension, a suspension ended) is
    recorded but not announced.

    :param application: id, reference, matter, status, created_at, statutory_due, promised_due,
        supervision and the unmasked record: keep personal data out of logs and alerts.
    :param old: the previous state: normal or amber.
    :param new: the new state: amber or red.
    :returns: None, or an awaitable the hub awaits. An exception is logged with the plugin's name
        and does not stop the other plugins.
    """
