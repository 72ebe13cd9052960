"""What the conformance tests work with: the adapter under test, wired to a test system through a
fault proxy, and a hub that can be started in-process around it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict

from hub import hookimpl
from hub.applications.intake import normalize_application
from hub.model.catalog import Catalog, Matter, Step
from hub.model.configuration import ApiClient, DispatchSettings, HubConfig, HubSettings
from hub.model.departments import Department, StatusPolicy
from hub.model.record import ApplicationRecord
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    DepartmentStatus,
    Payload,
    Receipt,
)
from hub.plugin.manager import Plugins, make_plugin_manager
from hub.testing.proxy import FaultProxy

STEP = "under_test"
GIVEN = "given"
GIVEN_DEPARTMENT = "kit_given"


class GivenOptions(BaseModel):
    """The outputs the stand-in for earlier steps hands on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outputs: dict[str, Any] = {}


class GivenAdapter(Adapter):
    """Stands in for the steps before the one under test: approves at once with fixed outputs,
    so the step under test gets its `inputs` from the hub exactly as in a real matter."""

    name: ClassVar[str] = GIVEN_DEPARTMENT
    protocol: ClassVar[str] = "kit"
    operations: ClassVar[frozenset[str]] = frozenset({GIVEN})
    Options: ClassVar[type[BaseModel]] = GivenOptions

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        return Payload(GIVEN, b"", "application/octet-stream")

    async def send(self, payload: Payload, context: DeliveryContext) -> Receipt:
        assert isinstance(self.options, GivenOptions)
        return Receipt(
            f"given-{context.delivery_key}", self.options.outputs, DepartmentState.APPROVED
        )

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        return DepartmentStatus(DepartmentState.APPROVED)


class KitPlugin:
    """The plugin the kit's in-process hub loads: the stand-in, and the adapter under test when
    no installed package offers it already (an adapter being written is not installed yet)."""

    def __init__(self, adapters: list[type[Adapter]]) -> None:
        self.offered = adapters

    @hookimpl
    def hub_adapters(self) -> list[type[Adapter]]:
        """Offer the stand-in and, when not installed, the adapter under test."""
        return self.offered


@dataclass
class Kit:
    """The adapter under test, its department (behind `proxy`), and the record it is given."""

    adapter: Adapter
    department: Department
    proxy: FaultProxy
    http: aiohttp.ClientSession
    matter: Matter
    step: Step
    application: Mapping[str, Any]
    inputs: Mapping[str, Any]
    directory: Path

    def record(self, data: Mapping[str, Any] | None = None) -> ApplicationRecord:
        """The application (or another one) normalized by the hub, as the adapter receives it."""
        body = {**(data or self.application), "matter": self.matter.code}
        return normalize_application(body, Catalog({self.matter.code: self.matter}))

    def context(self, inputs: Mapping[str, Any] | None = None) -> DeliveryContext:
        """A fresh delivery: a new application id and delivery key, the kit's inputs."""
        return DeliveryContext(
            application_id=uuid.uuid4().hex,
            delivery_key=f"kit-{uuid.uuid4().hex}",
            inputs=dict(self.inputs if inputs is None else inputs),
        )

    async def submit(
        self,
        data: Mapping[str, Any] | None = None,
        context: DeliveryContext | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> tuple[DeliveryContext, Receipt]:
        """Prepare and send one delivery, as the dispatcher does; the context and receipt."""
        context = context or self.context(inputs)
        payload = self.adapter.prepare(self.record(data), self.step, context)
        return context, await self.adapter.send(payload, context)

    def hub_config(self, token: str) -> HubConfig:
        """A one-matter hub: the stand-in for earlier steps, then the step under test."""
        fast = StatusPolicy(callbacks=False, poll_interval=0.05, poll_interval_max=0.2)
        departments = {
            self.department.code: self.department.model_copy(
                update={"status": fast, "adapter": type(self.adapter).name}
            ),
            GIVEN_DEPARTMENT: Department(
                code=GIVEN_DEPARTMENT,
                name="Earlier steps (adapter kit)",
                adapter=GIVEN_DEPARTMENT,
                endpoint="http://127.0.0.1:9",
                options={"outputs": dict(self.inputs)},
            ),
        }
        settings = HubSettings(
            dispatch=DispatchSettings(poll_interval=0.05, lease_margin=1.0, shutdown_deadline=2.0),
            clients=(
                ApiClient(
                    name="adapter-kit",
                    roles=("frontend", "operator"),
                    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                ),
            ),
        )
        return HubConfig(
            self.directory, settings, departments, Catalog({self.matter.code: self.matter})
        )

    @contextlib.asynccontextmanager
    async def hub(self) -> AsyncIterator[HubClient]:
        """The hub running in this process around the adapter, on a SQLite file, on 127.0.0.1."""
        from hub.api.app import create_app, listening
        from hub.runtime import RuntimeOptions

        token = secrets.token_urlsafe(24)
        installed = Plugins(make_plugin_manager()).adapters()
        cls = type(self.adapter)
        offered: list[type[Adapter]] = [GivenAdapter]
        if cls.name not in installed:
            offered.append(cls)
        elif installed[cls.name].cls is not cls:
            raise AssertionError(
                f"an installed package ({installed[cls.name].package}) already offers an adapter "
                f"named {cls.name!r}: give yours another name, or uninstall that package"
            )
        store = f"sqlite:///{self.directory / 'kit-hub.db'}"
        app = create_app(
            self.hub_config(token),
            RuntimeOptions(store_url=store, plugins=(KitPlugin(offered),)),
        )
        async with (
            listening(app, "127.0.0.1", 0) as port,
            aiohttp.ClientSession(
                f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
            ) as client,
        ):
            yield HubClient(client)


@dataclass
class HubClient:
    """The kit's frontend: files an application and follows its status events."""

    http: aiohttp.ClientSession

    async def file(self, data: Mapping[str, Any]) -> str:
        """POST the application; its id once the hub acknowledged it."""
        async with self.http.post("/api/v1/applications", json=data) as response:
            body = await response.json()
            if response.status != 202:
                raise AssertionError(f"the hub did not take the application: {body}")
            return str(body["id"])

    async def view(self, application_id: str) -> dict[str, Any]:
        """GET the application as the frontend sees it."""
        async with self.http.get(f"/api/v1/applications/{application_id}") as response:
            view: dict[str, Any] = await response.json()
            return view

    async def until(
        self, application_id: str, step: str, states: set[str], within: float = 10.0
    ) -> dict[str, Any]:
        """Follow the application's event stream until a step's delivery reaches one of `states`;
        fail with the delivery as it stands if it does not within `within` seconds."""
        path = f"/api/v1/applications/{application_id}/events"
        try:
            async with (
                asyncio.timeout(within),
                self.http.get(path, headers={"Accept": "text/event-stream"}) as stream,
            ):
                async for line in stream.content:
                    if line.startswith(b"data:"):
                        event: dict[str, Any] = json.loads(line[5:])
                        if event["step"] == step and event["new"] in states:
                            return event
        except TimeoutError:
            pass
        view = await self.view(application_id)
        found: dict[str, Any] = next((d for d in view["deliveries"] if d["step"] == step), {})
        keys = ("state", "department_status", "last_error", "attempt_count", "receipt")
        delivery = {key: found.get(key) for key in keys}
        raise AssertionError(
            f"within {within:g} s the hub's delivery did not reach {' or '.join(sorted(states))}; "
            f"it stands at: {json.dumps(delivery, ensure_ascii=False, default=str)}"
        )
