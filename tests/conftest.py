"""Shared fixtures: the shipped configuration, the simulators on free ports, real adapters."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import dotenv
import pytest

from hub.adapter import Adapter
from hub.config import HubConfig, load_config
from hub.plugins import Plugins, make_plugin_manager
from hub.registry import build_adapters
from simulators.base import SimulatorSettings
from simulators.ledger import DecisionPolicy
from simulators.runner import Simulators, settings_for, start_simulators

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"


@pytest.fixture(scope="session", autouse=True)
def demo_credentials() -> Iterator[None]:
    """The simulated departments' credentials, as `hub demo` sets them, for every test."""
    values = {k: v for k, v in dotenv.dotenv_values(CONFIG / "demo.env").items() if v is not None}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


@pytest.fixture
def config() -> HubConfig:
    """The configuration shipped in config/."""
    return load_config(CONFIG)


@pytest.fixture
def simulator_settings(config: HubConfig) -> dict[str, SimulatorSettings]:
    """Each simulator's settings; tests may change them before the simulators start."""
    immediate = DecisionPolicy(review_after=0, decide_after=0)
    return {
        code: settings_for(dept).model_copy(update={"decisions": immediate, "hang_seconds": 30})
        for code, dept in config.departments.items()
    }


@pytest.fixture
async def simulators(
    config: HubConfig, simulator_settings: dict[str, SimulatorSettings]
) -> AsyncIterator[Simulators]:
    """The four simulated department systems, each on a free port of 127.0.0.1."""
    sims = await start_simulators(config.departments, any_port=True, settings=simulator_settings)
    yield sims
    await sims.close()


@pytest.fixture
def hub_config(config: HubConfig, simulators: Simulators) -> HubConfig:
    """The shipped configuration with every department pointed at its simulator."""
    return dataclasses.replace(config, departments=simulators.departments(config.departments))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session, as the hub shares one among its adapters."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def plugins() -> Plugins:
    """A fresh plugin manager with the installed entry points."""
    return Plugins(make_plugin_manager())


@pytest.fixture
def adapters(
    hub_config: HubConfig, plugins: Plugins, http: aiohttp.ClientSession
) -> dict[str, Adapter]:
    """One real adapter per department, talking to the simulators."""
    return build_adapters(hub_config, plugins.adapters(), http)


class SimulatorControl:
    """Talks to the simulators' /_sim/ routes over HTTP, as a test or an operator would."""

    def __init__(self, simulators: Simulators, http: aiohttp.ClientSession) -> None:
        self.simulators = simulators
        self.http = http

    async def received(self, department: str) -> dict[str, Any]:
        """GET /_sim/received of one department."""
        url = f"{self.simulators[department].base_url}/_sim/received"
        async with self.http.get(url) as response:
            response.raise_for_status()
            result: dict[str, Any] = await response.json()
            return result

    async def faults(self, department: str, **faults: Any) -> None:
        """PUT /_sim/faults of one department."""
        url = f"{self.simulators[department].base_url}/_sim/faults"
        async with self.http.put(url, json=faults) as response:
            response.raise_for_status()


@pytest.fixture
def sim(simulators: Simulators, http: aiohttp.ClientSession) -> SimulatorControl:
    """Control of the simulators over their /_sim/ routes."""
    return SimulatorControl(simulators, http)
