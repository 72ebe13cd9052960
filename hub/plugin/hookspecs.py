"""Every hook of the hub, in one place: the table of contents of its extension points.

Plugins implement these with `@hub.hookimpl`. pluggy calls hooks synchronously: a hook that
builds or picks something returns plain objects (whose methods may be async); a hook that only
observes may return an awaitable, which the hub awaits. Only `hub.plugin.manager.Plugins` calls
them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
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
