"""Start the simulated department systems, each on the port of its configured endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from hub.model.departments import Department
from simulators.base import SimulatedSystem, SimulatorSettings
from simulators.housing_fund import HousingFund
from simulators.market_regulation import MarketRegulation
from simulators.public_security import PublicSecurity
from simulators.social_security import SocialSecurity
from simulators.tax import Tax

SYSTEMS: dict[str, type[SimulatedSystem]] = {
    cls.code: cls for cls in (PublicSecurity, Tax, MarketRegulation, SocialSecurity, HousingFund)
}


@dataclass
class RunningSystem:
    """One simulated system being served."""

    system: SimulatedSystem
    runner: web.AppRunner
    endpoint: str
    """The department endpoint as it is actually served (the real port when 0 was asked)."""

    @property
    def base_url(self) -> str:
        """scheme://host:port, where /_sim/ lives."""
        parts = urlsplit(self.endpoint)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


@dataclass
class Simulators:
    """The simulated systems of a deployment, started together and stopped together."""

    running: dict[str, RunningSystem] = field(default_factory=dict)

    def __getitem__(self, code: str) -> RunningSystem:
        return self.running[code]

    def departments(self, departments: Mapping[str, Department]) -> dict[str, Department]:
        """The departments re-pointed at the simulators' actual endpoints."""
        return {
            code: dept.with_endpoint(self.running[code].endpoint) if code in self.running else dept
            for code, dept in departments.items()
        }

    async def stop(self, code: str) -> None:
        """Take one system off the network (connection refused); its ledger is kept."""
        running = self.running[code]
        running.system.release.set()
        await running.runner.cleanup()

    async def start(self, code: str) -> None:
        """Put a stopped system back on its port, with what it had received."""
        running = self.running[code]
        parts = urlsplit(running.endpoint)
        running.system.release = asyncio.Event()
        running.runner = await _serve(
            running.system, parts.hostname or "127.0.0.1", parts.port or 80
        )

    async def close(self) -> None:
        """Stop every system; hanging calls are released first."""
        for running in self.running.values():
            running.system.release.set()
            await running.runner.cleanup()
        self.running.clear()


async def _serve(system: SimulatedSystem, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(system.build_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def settings_for(department: Department) -> SimulatorSettings:
    """A simulator expects the credentials the hub is configured to send."""
    credentials = {}
    for name in department.credentials:
        try:
            credentials[name] = department.secret(name)
        except KeyError:
            continue
    secret = credentials.pop("callback_secret", None)
    return SimulatorSettings(credentials=credentials, callback_secret=secret)


async def start_simulators(
    departments: Mapping[str, Department],
    *,
    any_port: bool = False,
    settings: Mapping[str, SimulatorSettings] | None = None,
) -> Simulators:
    """Serve a simulator for every department that has one, on its endpoint's host and port.

    With any_port, each binds a free port instead (tests running side by side).
    """
    simulators = Simulators()
    try:
        for code, department in departments.items():
            cls = SYSTEMS.get(code)
            if cls is None:
                continue
            parts = urlsplit(department.endpoint)
            host = parts.hostname or "127.0.0.1"
            port = 0 if any_port else (parts.port or 80)
            system = cls((settings or {}).get(code) or settings_for(department), parts.path)
            runner = await _serve(system, host, port)
            actual = runner.addresses[0][1]
            endpoint = urlunsplit((parts.scheme, f"{host}:{actual}", parts.path, "", ""))
            simulators.running[code] = RunningSystem(system, runner, endpoint)
    except BaseException:
        await simulators.close()
        raise
    return simulators
