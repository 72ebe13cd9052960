"""What every simulated legacy system shares: its ledger, fault injection and the /_sim/ routes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any, ClassVar

import aiohttp
import pydantic
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hub.delivery.callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from simulators.faults import FaultKind, FaultPlan, Faults
from simulators.ledger import Case, Decision, DecisionPolicy, Ledger

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SimulatorSettings(BaseModel):
    """How one simulated system behaves when it starts."""

    model_config = ConfigDict(extra="forbid")

    credentials: dict[str, str] = {}
    deduplicate: bool | None = None
    """Register a repeated delivery key only once; None keeps the system's own habit."""
    decisions: DecisionPolicy = DecisionPolicy()
    faults: Faults = Faults()
    hang_seconds: float = 300.0
    callback_url: str | None = None
    """Where a system that pushes decisions posts them (the hub's /api/v1/callbacks/<code>)."""
    callback_secret: str | None = None
    today: date | None = None
    """The date the system's clock reads, for a test or the demo to set; None: the real date."""


class SimulatedSystem(ABC):
    """A legacy department system stand-in; subclasses speak its protocol."""

    code: ClassVar[str]
    reference_prefix: ClassVar[str]
    deduplicates: ClassVar[bool] = True
    """Whether the real system recognizes a repeated request id (some legacy ones do not)."""

    def __init__(self, settings: SimulatorSettings, base_path: str = "") -> None:
        self.settings = settings
        self.base_path = base_path.rstrip("/")
        dedupe = self.deduplicates if settings.deduplicate is None else settings.deduplicate
        self.ledger = Ledger(self.reference_prefix, deduplicate=dedupe)
        self.in_flight = 0
        self.max_in_flight = 0
        self.faults = FaultPlan(settings.faults)
        self.decisions = settings.decisions
        # Set to end every hanging call at once: when the faults change, or at shutdown.
        self.release = asyncio.Event()

    def today(self) -> date:
        """The system's business date: its clock's, unless the settings set one."""
        return self.settings.today or date.today()

    @abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """Register the system's own routes under self.base_path."""

    @abstractmethod
    def busy_response(self) -> web.Response:
        """How this system says "busy, try later"."""

    def callback_body(self, case: Case, decision: Decision) -> bytes | None:
        """The body a system that pushes decisions posts; None for systems that do not push."""
        return None

    async def _pusher(self, app: web.Application) -> AsyncIterator[None]:
        """Tell the hub each case's new decision, as departments with callbacks do."""
        task = asyncio.create_task(self._push_loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _push_loop(self) -> None:
        retry_at: dict[str, float] = {}
        async with aiohttp.ClientSession() as http:
            while True:
                await asyncio.sleep(0.05)
                # Read each time: the hub's address may be set after the simulator started.
                url, secret = self.settings.callback_url, self.settings.callback_secret
                if not url or not secret:
                    continue
                now = time.monotonic()
                for case in list(self.ledger.cases.values()):
                    decision = case.decision(self.decisions)
                    if decision == case.pushed or retry_at.get(case.reference, 0) > now:
                        continue
                    body = self.callback_body(case, decision)
                    if body is None:
                        return
                    stamp = int(time.time())
                    headers = {
                        "Content-Type": "application/json",
                        TIMESTAMP_HEADER: str(stamp),
                        SIGNATURE_HEADER: sign(secret, stamp, body),
                    }
                    try:
                        async with http.post(url, data=body, headers=headers) as response:
                            if response.status < 500:
                                case.pushed = decision
                                retry_at.pop(case.reference, None)
                                continue
                    except aiohttp.ClientError:
                        pass
                    retry_at[case.reference] = now + 1.0

    def malformed(self, response: web.StreamResponse) -> web.StreamResponse:
        """The real answer cut in half: what a proxy or a crashing process leaves behind."""
        if isinstance(response, web.Response) and response.body is not None:
            body = bytes(response.body)  # type: ignore[arg-type]
            return web.Response(
                body=body[: len(body) // 2],
                status=response.status,
                content_type=response.content_type,
                charset=response.charset,
            )
        return response

    @web.middleware
    async def fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Inject the configured faults into the system's own routes, never into /_sim/."""
        if request.path.startswith("/_sim/") or "wsdl" in request.query:
            return await handler(request)
        self.ledger.traces.append(
            {
                "path": request.path,
                "application_id": request.headers.get("X-Hub-Application-Id"),
                "delivery_key": request.headers.get("X-Hub-Delivery-Key"),
            }
        )
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._serve(request, handler)
        finally:
            self.in_flight -= 1

    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.faults.faults.latency:
            await asyncio.sleep(self.faults.faults.latency)
        fault = self.faults.draw()
        if fault is FaultKind.ERROR:
            return self.busy_response()
        if fault is FaultKind.HANG:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.settings.hang_seconds)
            return self.busy_response()
        response = await handler(request)
        if fault is FaultKind.RESET:
            assert request.transport is not None
            request.transport.abort()
        elif fault is FaultKind.MALFORMED:
            return self.malformed(response)
        return response

    def decision_of(self, reference: str) -> Decision | None:
        """The current decision on a case, None for an unknown reference."""
        case = self.ledger.cases.get(reference)
        return None if case is None else case.decision(self.decisions)

    def build_app(self) -> web.Application:
        """The aiohttp application serving this system and its /_sim/ control routes."""
        app = web.Application(middlewares=[self.fault_middleware])
        app[SYSTEM] = self
        app.router.add_get("/_sim/received", _received)
        app.router.add_get("/_sim/faults", _get_faults)
        app.router.add_put("/_sim/faults", _put_faults)
        app.router.add_get("/_sim/decisions", _get_decisions)
        app.router.add_put("/_sim/decisions", _put_decisions)
        app.router.add_post("/_sim/cases/{reference}/decision", _force_decision)
        app.router.add_put("/_sim/callback", _put_callback)
        self.add_routes(app)
        app.cleanup_ctx.append(self._release_hangs)
        app.cleanup_ctx.append(self._pusher)
        return app

    async def _release_hangs(self, app: web.Application) -> AsyncIterator[None]:
        yield
        self.release.set()


SYSTEM = web.AppKey("system", SimulatedSystem)


async def _read_model(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(await request.json())
    except (ValueError, pydantic.ValidationError) as exc:
        raise web.HTTPUnprocessableEntity(text=str(exc)) from exc


async def _received(request: web.Request) -> web.Response:
    system = request.app[SYSTEM]
    report = system.ledger.received()
    for case in report["cases"]:  # where each case stands now: decided, withdrawn, or not yet
        case["decision"] = system.decision_of(case["reference"])
    return web.json_response(report | {"max_in_flight": system.max_in_flight})


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[SYSTEM].faults.faults.model_dump(mode="json"))


async def _put_faults(request: web.Request) -> web.Response:
    system = request.app[SYSTEM]
    faults = await _read_model(request, Faults)
    try:
        system.faults.set(faults)
    except ValueError as exc:
        raise web.HTTPUnprocessableEntity(text=str(exc)) from exc
    # Calls hanging under the old faults end now; new hangs wait on a fresh event.
    system.release.set()
    system.release = asyncio.Event()
    return web.json_response(faults.model_dump(mode="json"))


async def _get_decisions(request: web.Request) -> web.Response:
    return web.json_response(request.app[SYSTEM].decisions.model_dump(mode="json"))


async def _put_decisions(request: web.Request) -> web.Response:
    system = request.app[SYSTEM]
    system.decisions = await _read_model(request, DecisionPolicy)
    return web.json_response(system.decisions.model_dump(mode="json"))


class _Forced(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Decision


async def _force_decision(request: web.Request) -> web.Response:
    system = request.app[SYSTEM]
    case = system.ledger.cases.get(request.match_info["reference"])
    if case is None:
        raise web.HTTPNotFound(text="no such case")
    case.forced = (await _read_model(request, _Forced)).decision
    return web.json_response({"reference": case.reference, "decision": case.forced})


class _Callback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None
    secret: str | None = None


async def _put_callback(request: web.Request) -> web.Response:
    """Where (and with which secret) to push decisions; a null url stops pushing."""
    system = request.app[SYSTEM]
    given = await _read_model(request, _Callback)
    system.settings = system.settings.model_copy(
        update={
            "callback_url": given.url,
            "callback_secret": given.secret or system.settings.callback_secret,
        }
    )
    return web.json_response({"url": given.url})
