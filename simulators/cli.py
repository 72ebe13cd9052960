"""`hub simulate`: serve every simulated system on its configured port until stopped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
import pydantic

from hub.model.configuration import HubConfig
from hub.runtime import wait_for_stop
from simulators.base import SimulatorSettings
from simulators.faults import Faults
from simulators.ledger import DecisionPolicy
from simulators.runner import SYSTEMS, settings_for, start_simulators


def parse_faults(specs: Iterable[str]) -> dict[str, dict[str, str]]:
    """'tax:error_rate=0.3' → {'tax': {'error_rate': '0.3'}}; ValueError naming a bad spec."""
    faults: dict[str, dict[str, str]] = {}
    for spec in specs:
        department, sep, assignment = spec.partition(":")
        key, eq, value = assignment.partition("=")
        if not (sep and eq and key):
            raise ValueError(f"{spec!r} is not DEPT:KEY=VALUE")
        if department not in SYSTEMS:
            raise ValueError(f"{spec!r}: no simulator for department {department!r}")
        faults.setdefault(department, {})[key] = value
    return faults


def build_settings(
    config: HubConfig, fault_specs: Iterable[str], decide_after: float | None
) -> dict[str, SimulatorSettings]:
    """Each simulator's settings: the configured credentials, plus faults and decision timing."""
    faults = parse_faults(fault_specs)
    settings = {}
    for code, department in config.departments.items():
        base = settings_for(department)
        try:
            update: dict[str, Any] = {"faults": Faults.model_validate(faults.get(code, {}))}
            if decide_after is not None:
                update["decisions"] = DecisionPolicy(
                    review_after=decide_after / 2, decide_after=decide_after
                )
        except pydantic.ValidationError as exc:
            raise ValueError(f"{code}: {exc}") from exc
        settings[code] = base.model_copy(update=update)
    return settings


async def run_simulators(
    config: HubConfig, fault_specs: Iterable[str], decide_after: float | None
) -> None:
    """Start the simulators, say where they are, and serve until SIGINT or SIGTERM."""
    settings = build_settings(config, fault_specs, decide_after)
    simulators = await start_simulators(config.departments, settings=settings)
    try:
        for code, running in simulators.running.items():
            click.echo(f"{code:<20} {running.endpoint}   (control: {running.base_url}/_sim/)")
        click.echo("simulators running; Ctrl-C to stop")
        await wait_for_stop()
    finally:
        await simulators.close()
