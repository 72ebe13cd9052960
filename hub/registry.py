"""Wiring departments to adapters: checking that each department's adapter fits, building them."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import pydantic

from hub.adapter import Adapter
from hub.config import HubConfig
from hub.configfiles import ConfigProblem, problems_from_pydantic
from hub.plugins import AdapterInfo


def check_adapters(config: HubConfig, adapters: Mapping[str, AdapterInfo]) -> list[ConfigProblem]:
    """Problems between the configuration and the adapters the plugins offer."""
    problems: list[ConfigProblem] = []
    for code, department in config.departments.items():
        path = config.department_file(code)
        info = adapters.get(department.adapter)
        if info is None:
            known = ", ".join(sorted(adapters)) or "none installed"
            problems.append(
                ConfigProblem(
                    path, "adapter", f"no adapter named {department.adapter!r} (known: {known})"
                )
            )
            continue
        try:
            info.cls.Options.model_validate(department.options)
        except pydantic.ValidationError as exc:
            problems.extend(problems_from_pydantic(path, exc, prefix="options"))
        for name in info.cls.credentials:
            if name not in department.credentials:
                problems.append(
                    ConfigProblem(
                        path,
                        f"credentials.{name}",
                        f'adapter {department.adapter!r} needs it: {name}.env = "HUB_..."',
                    )
                )
    for matter in config.catalog:
        path = config.directory / "matters" / f"{matter.code}.toml"
        for step in matter.steps.values():
            owner = config.departments.get(step.department)
            info = adapters.get(owner.adapter) if owner else None
            if info is not None and step.operation not in info.cls.operations:
                offered = ", ".join(sorted(info.cls.operations))
                problems.append(
                    ConfigProblem(
                        path,
                        f"steps.{step.name}.operation",
                        f"adapter {info.cls.name!r} cannot do {step.operation!r} (can: {offered})",
                    )
                )
    return problems


def build_adapters(
    config: HubConfig, adapters: Mapping[str, AdapterInfo], session: aiohttp.ClientSession
) -> dict[str, Adapter]:
    """One adapter instance per department, all sharing the hub's HTTP session."""
    return {
        code: adapters[department.adapter].cls(department, session)
        for code, department in config.departments.items()
    }
