"""Wiring departments to adapters: checking that each department's adapter fits, building them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
import pydantic

from hub.model.configfiles import ConfigProblem, problems_from_pydantic
from hub.model.configuration import HubConfig
from hub.plugin.adapter import Adapter
from hub.plugin.manager import AdapterInfo


def check_adapters(config: HubConfig, adapters: Mapping[str, AdapterInfo]) -> list[ConfigProblem]:
    """Problems between the configuration and the adapters the plugins offer."""
    problems: list[ConfigProblem] = []
    operations: dict[str, tuple[str, frozenset[str]]] = {}
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
            options = info.cls.Options.model_validate(department.options)
        except pydantic.ValidationError as exc:
            problems.extend(problems_from_pydantic(path, exc, prefix="options"))
            continue
        operations[code] = (info.cls.name, info.cls.operations_for(options))
        for name in info.cls.credentials_for(options):
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
            if step.department not in operations:
                continue
            adapter, offered = operations[step.department]
            if step.operation not in offered:
                problems.append(
                    ConfigProblem(
                        path,
                        f"steps.{step.name}.operation",
                        f"adapter {adapter!r} cannot do {step.operation!r} "
                        f"(can: {', '.join(sorted(offered))})",
                    )
                )
    return problems


async def probe_departments(
    adapters: Mapping[str, Adapter], config: HubConfig
) -> list[ConfigProblem]:
    """A problem for each department whose endpoint does not answer (`check-config --online`)."""
    results = await asyncio.gather(*(adapter.probe() for adapter in adapters.values()))
    return [
        ConfigProblem(
            config.department_file(code),
            "endpoint",
            f"{config.departments[code].endpoint} does not answer: {why}",
        )
        for code, why in zip(adapters, results, strict=True)
        if why is not None
    ]


def build_adapters(
    config: HubConfig, adapters: Mapping[str, AdapterInfo], session: aiohttp.ClientSession
) -> dict[str, Adapter]:
    """One adapter instance per department, all sharing the hub's HTTP session."""
    return {
        code: adapters[department.adapter].cls(department, session)
        for code, department in config.departments.items()
    }
