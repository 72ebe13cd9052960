"""Shared fixtures: the shipped configuration, the simulators on free ports, real adapters."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import dotenv
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url

from hub.api.app import create_app
from hub.model.configuration import DispatchSettings, HubConfig, load_config
from hub.plugin.adapter import Adapter
from hub.plugin.manager import Plugins, make_plugin_manager
from hub.plugin.registry import build_adapters
from hub.runtime import HUB, Hub, RuntimeOptions
from simulators.base import SimulatorSettings
from simulators.ledger import DecisionPolicy
from simulators.runner import Simulators, settings_for, start_simulators
from tests.contract import Contract

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"


@pytest.fixture(scope="session", autouse=True)
def demo_credentials() -> Iterator[None]:
    """The simulated departments' credentials, as `hub demo` sets them, for every test."""
    values = {
        k: v for k, v in dotenv.dotenv_values(CONFIG / "demo" / "demo.env").items() if v is not None
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


@pytest.fixture(autouse=True)
def notifications(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the notification plugin writes, per test (never the working tree's var/)."""
    path = tmp_path / "notifications.jsonl"
    monkeypatch.setenv("HUB_NOTIFICATIONS_FILE", str(path))
    return path


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
def department_overrides() -> dict[str, dict[str, Any]]:
    """Changes to departments' settings, by code; a test parametrizes this to change them."""
    return {}


@pytest.fixture
def hub_config(
    config: HubConfig, simulators: Simulators, department_overrides: dict[str, dict[str, Any]]
) -> HubConfig:
    """The shipped configuration with every department pointed at its simulator."""
    departments = dict(simulators.departments(config.departments))
    for code, changes in department_overrides.items():
        current = departments[code].model_dump()
        for key, value in changes.items():
            current[key] = current[key] | value if isinstance(value, dict) else value
        departments[code] = type(departments[code]).model_validate(current)
    return dataclasses.replace(config, departments=departments)


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

    async def decide(self, department: str, reference: str, decision: str) -> None:
        """Make a department decide a case now (POST /_sim/cases/<ref>/decision)."""
        url = f"{self.simulators[department].base_url}/_sim/cases/{reference}/decision"
        async with self.http.post(url, json={"decision": decision}) as response:
            response.raise_for_status()

    async def push_to(self, department: str, url: str | None) -> None:
        """Make a department push its decisions to a URL (PUT /_sim/callback)."""
        async with self.http.put(
            f"{self.simulators[department].base_url}/_sim/callback", json={"url": url}
        ) as response:
            response.raise_for_status()


@pytest.fixture
def sim(simulators: Simulators, http: aiohttp.ClientSession) -> SimulatorControl:
    """Control of the simulators over their /_sim/ routes."""
    return SimulatorControl(simulators, http)


FAST_RETRY = {
    "quick_backoff": 0.01,
    "quick_backoff_max": 0.05,
    "jitter": 0.0,
    "backoff": 0.05,
    "backoff_max": 0.2,
}


def fast(config: HubConfig, **retry: Any) -> HubConfig:
    """The configuration with retries that wait milliseconds instead of seconds."""
    departments = {
        code: dept.model_copy(
            update={
                "retry": dept.retry.model_copy(update=FAST_RETRY | retry),
                "breaker": dept.breaker.model_copy(
                    update={"cooldown": min(dept.breaker.cooldown, 0.5)}
                ),
            }
        )
        for code, dept in config.departments.items()
    }
    dispatch = DispatchSettings(poll_interval=0.05, lease_margin=1.0, shutdown_deadline=5.0)
    settings = config.settings.model_copy(update={"dispatch": dispatch})
    return dataclasses.replace(config, departments=departments, settings=settings)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty store: a SQLite file, or a new database on HUB_TEST_POSTGRES_URL's server.

    Where HUB_TEST_POSTGRES_URL is set (as in CI), an unreachable server fails the test.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    base = os.environ.get("HUB_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("HUB_TEST_POSTGRES_URL is not set; the PostgreSQL store suite runs in CI")
    url = make_url(base)
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


CONTRACT = Contract()
FRONTEND = "demo-frontend-token"
OPERATOR = "demo-operator-token"
TAX_IT = "demo-tax-callback-token"


class HubDriver:
    """Drives a running hub over its HTTP API, as the center's frontend does."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client

    @staticmethod
    def _headers(token: str | None, given: Any) -> dict[str, str]:
        headers = dict(given or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return headers

    async def request(
        self, method: str, path: str, *, token: str | None = FRONTEND, **kwargs: Any
    ) -> Any:
        """An API request with a client's bearer token (the window frontend's by default).

        Every answer is checked against the OpenAPI document before the test sees it.
        """
        headers = self._headers(token, kwargs.pop("headers", None))
        response = await self.client.request(method, path, headers=headers, **kwargs)
        body = await response.read()
        parsed = (
            json.loads(body) if body and response.content_type.endswith("json") else body.decode()
        )
        CONTRACT.check(method, response.url.path, response.status, response.content_type, parsed)
        return response

    def stream(self, path: str, *, token: str | None = FRONTEND, **kwargs: Any) -> Any:
        """A GET whose body the test reads as it comes (Server-Sent Events)."""
        headers = self._headers(token, kwargs.pop("headers", None))
        return self.client.get(path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Any:
        """GET with a token."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        """POST with a token."""
        return await self.request("POST", path, **kwargs)

    @property
    def hub(self) -> Hub:
        """The hub process's runtime (store engine, dispatcher), for assertions on the store."""
        return self.client.app[HUB]

    async def submit(self, data: dict[str, Any]) -> str:
        """POST an application; its id once the hub acknowledged it with 202."""
        response = await self.post("/api/v1/applications", json=data)
        body = await response.json()
        assert response.status == 202, body
        return str(body["id"])

    async def view(self, application_id: str) -> dict[str, Any]:
        """GET an application."""
        response = await self.get(f"/api/v1/applications/{application_id}")
        assert response.status == 200
        view: dict[str, Any] = await response.json()
        return view

    async def wait_for(
        self, application_id: str, done: Callable[[dict[str, Any]], bool], within: float = 20.0
    ) -> dict[str, Any]:
        """Read the application until `done` holds for it; fail with its last view on timeout."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            view = await self.view(application_id)
            if done(view):
                return view
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not done within {within} s: {view}")
            await asyncio.sleep(0.02)

    async def delivered(self, application_id: str, within: float = 20.0) -> dict[str, Any]:
        """Wait until no delivery of the application is waiting or pending any more."""
        return await self.wait_for(
            application_id,
            lambda v: all(d["state"] not in ("waiting", "pending") for d in v["deliveries"]),
            within,
        )


def by_step(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An application view's deliveries by step name."""
    return {d["step"]: d for d in view["deliveries"]}


@pytest.fixture
def hub_options(store_url: str) -> RuntimeOptions:
    """How the hub under test runs: on the store under test, polling often."""
    return RuntimeOptions(store_url=store_url)


@pytest.fixture
async def hub(hub_options: RuntimeOptions, hub_config: HubConfig, aiohttp_client: Any) -> HubDriver:
    """The hub, started in-process on a free port with fast retries, against the simulators.

    (aiohttp_client comes last so that the hub stops before its store is dropped.)
    """
    client = await aiohttp_client(create_app(fast(hub_config), hub_options))
    return HubDriver(client)


def config_on_free_ports(target: Path, free_port: Callable[[], int]) -> dict[str, int]:
    """Copy the shipped configuration to `target`, moving the hub and every department to free
    ports; the ports by department code, and "hub"."""
    shutil.copytree(CONFIG, target)
    ports = {"hub": free_port()}
    hub_toml = target / "hub.toml"
    hub_toml.write_text(hub_toml.read_text().replace("port = 8700", f"port = {ports['hub']}"))
    for path in (target / "departments").glob("*.toml"):
        text = path.read_text()
        match = re.search(r'endpoint = "http://127\.0\.0\.1:(\d+)/', text)
        assert match, path
        ports[path.stem] = free_port()
        path.write_text(
            text.replace(f"127.0.0.1:{match.group(1)}/", f"127.0.0.1:{ports[path.stem]}/")
        )
    return ports


@dataclasses.dataclass
class Finished:
    """What a `hub` command printed, and how it ended."""

    returncode: int
    stdout: str
    stderr: str


async def hub_command(env: dict[str, str], *args: str) -> Finished:
    """Run `hub ARGS…` as its own process without blocking the event loop the hub runs on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())
