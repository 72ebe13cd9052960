"""One Window Hub: one application at one window, carried to every department that must act.

The packages, from the bottom up: `model` (the work, as pure rules), `store`, `plugin` (the contract
with adapters), `transports`, `ops`, `delivery` (the engine), `applications` (what the frontend
asks for), `runtime`, `api` and `console`, `cli`; `testing` and `scaffold` serve adapter authors.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("hub")
"""Marks a plugin's hook implementations: `@hookimpl def hub_adapters(): ...`."""

MOVED = {
    "hub.record": "hub.model.record",
    "hub.identity": "hub.model.identity",
    "hub.fields": "hub.model.fields",
    "hub.problems": "hub.model.problems",
    "hub.catalog": "hub.model.catalog",
    "hub.timelimits": "hub.model.timelimits",
    "hub.tracking": "hub.model.tracking",
    "hub.departments": "hub.model.departments",
    "hub.configfiles": "hub.model.configfiles",
    "hub.config": "hub.model.configuration",
    "hub.hookspecs": "hub.plugin.hookspecs",
    "hub.plugins": "hub.plugin.manager",
    "hub.adapter": "hub.plugin.adapter",
    "hub.registry": "hub.plugin.registry",
    "hub.audit": "hub.ops.audit",
    "hub.metrics": "hub.ops.metrics",
    "hub.department_health": "hub.ops.department_health",
    "hub.maintenance": "hub.ops.maintenance",
    "hub.logging": "hub.ops.logging",
    "hub.privacy": "hub.ops.privacy",
    "hub.auth": "hub.ops.auth",
    "hub.dispatch": "hub.delivery.dispatch",
    "hub.sending": "hub.delivery.sending",
    "hub.calls": "hub.delivery.calls",
    "hub.jobs": "hub.delivery.jobs",
    "hub.relay": "hub.delivery.relay",
    "hub.status": "hub.delivery.status",
    "hub.callbacks": "hub.delivery.callbacks",
    "hub.deadletters": "hub.delivery.deadletters",
    "hub.flow": "hub.delivery.flow",
    "hub.intake": "hub.applications.intake",
    "hub.corrections": "hub.applications.corrections",
}
"""Modules of release 0.1 that moved, by old path: importable there until 0.3, with a warning."""


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a module's old path as its new one, warning that the old path goes away.

    A finder rather than a stub file per old path, so that `hub/` lists only what it holds.
    """

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder, replaced in sys.modules by exec_module

    def exec_module(self, module: ModuleType) -> None:
        new = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} has moved to {new}; import it from there "
            "(the old path goes away in release 0.3)",
            DeprecationWarning,
            stacklevel=2,
        )
        # The import system returns what sys.modules holds under the name after exec_module:
        # the moved module itself, so both paths share one module and its classes.
        sys.modules[module.__name__] = importlib.import_module(new)


sys.meta_path.append(_MovedModules())
