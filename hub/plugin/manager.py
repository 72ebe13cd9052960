"""The plugin manager and the one typed facade through which the hub calls every hook."""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pluggy
import structlog

from hub.model.catalog import Matter
from hub.model.problems import Problem, ValidationProblem
from hub.model.record import ApplicationRecord
from hub.plugin import hookspecs
from hub.plugin.adapter import Adapter

ENTRY_POINT_GROUP = "hub.adapters"

log = structlog.get_logger("hub.plugins")


class PluginError(Exception):
    """A plugin misbehaved in a way the hub cannot work around; the message names the plugin."""


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    """An adapter class with the plugin and distribution that offer it."""

    cls: type[Adapter]
    plugin: str
    package: str | None
    version: str | None


def make_plugin_manager(
    plugins: Iterable[object] = (), *, entry_points: bool = True
) -> pluggy.PluginManager:
    """A fresh manager: the hook specs, every `hub.adapters` entry point, then extra plugins.

    Built when an app or command starts, never at import time, so each test gets its own.
    """
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", type(plugin).__name__))
    # A hookimpl whose name matches no spec is a misspelt hook: fail loudly, not silently.
    pm.check_pending()
    return pm


class Plugins:
    """The only caller of `pm.hook`: binds log context, times calls, names a failing plugin."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}

    def _impls(self, hook: str) -> list[Any]:
        """A hook's implementations in registration order.

        The facade calls implementations one by one rather than through `pm.hook`, because
        pluggy stops at the first exception and merges results anonymously: here each result
        stays attributable to its plugin, and one plugin's problems do not hide another's.
        """
        return list(getattr(self.pm.hook, hook).get_hookimpls())

    def _call(self, hook: str, impl: Any, kwargs: dict[str, Any]) -> Any:
        """Call one implementation with the arguments it asks for, timed and logged."""
        start = time.perf_counter()
        try:
            return impl.function(*(kwargs[name] for name in impl.argnames))
        finally:
            log.debug(
                "plugin.hook",
                hook=hook,
                plugin=impl.plugin_name,
                duration_ms=round((time.perf_counter() - start) * 1000, 2),
            )

    def adapters(self) -> dict[str, AdapterInfo]:
        """Every adapter class offered by any plugin, by adapter name."""
        found: dict[str, AdapterInfo] = {}
        for impl in self._impls("hub_adapters"):
            classes = self._call("hub_adapters", impl, {})
            plugin_name = impl.plugin_name
            dist = self._dists.get(id(impl.plugin))
            for cls in classes or ():
                if not (inspect.isclass(cls) and issubclass(cls, Adapter)):
                    raise PluginError(
                        f"plugin {plugin_name!r} offered {cls!r} from hub_adapters, "
                        "which is not a hub.plugin.adapter.Adapter subclass"
                    )
                if inspect.isabstract(cls):
                    missing = ", ".join(sorted(cls.__abstractmethods__))
                    raise PluginError(
                        f"adapter {cls.__qualname__} of plugin {plugin_name!r} "
                        f"does not implement: {missing}"
                    )
                if cls.name in found:
                    raise PluginError(
                        f"adapter name {cls.name!r} is offered by both plugin "
                        f"{found[cls.name].plugin!r} and plugin {plugin_name!r}"
                    )
                found[cls.name] = AdapterInfo(
                    cls,
                    plugin_name,
                    dist.project_name if dist else None,
                    dist.version if dist else None,
                )
        return found

    def _problems(self, hook: str, kwargs: dict[str, Any]) -> list[Problem]:
        """Every problem every implementation of a checking hook finds, returned or raised."""
        problems: list[Problem] = []
        for impl in self._impls(hook):
            try:
                found = list(self._call(hook, impl, kwargs) or ())
            except ValidationProblem as exc:
                found = list(exc.problems)
            if found:
                log.info("plugin.problems", hook=hook, plugin=impl.plugin_name, count=len(found))
            problems.extend(found)
        return problems

    def normalize_record(self, record: ApplicationRecord, matter: Matter) -> list[Problem]:
        """Every problem any plugin finds with a record, every plugin asked."""
        return self._problems("hub_normalize_record", {"record": record, "matter": matter})

    def accept(self, record: ApplicationRecord, matter: Matter, today: date) -> list[Problem]:
        """Every reason any plugin has to refuse a filing at the window, every plugin asked."""
        return self._problems("hub_accept", {"record": record, "matter": matter, "today": today})

    async def status_changed(
        self, application: Mapping[str, Any], old: str | None, new: str
    ) -> None:
        """Tell every plugin; a failing plugin is logged with its name and the others still hear."""
        kwargs = {"application": application, "old": old, "new": new}
        for impl in self._impls("hub_status_changed"):
            try:
                result = self._call("hub_status_changed", impl, kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("plugin.failed", hook="hub_status_changed", plugin=impl.plugin_name)

    async def supervision_changed(self, application: Mapping[str, Any], old: str, new: str) -> None:
        """Tell every plugin of an amber or red case; a failing plugin is logged with its name."""
        kwargs = {"application": application, "old": old, "new": new}
        for impl in self._impls("hub_supervision_changed"):
            try:
                result = self._call("hub_supervision_changed", impl, kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception(
                    "plugin.failed", hook="hub_supervision_changed", plugin=impl.plugin_name
                )
