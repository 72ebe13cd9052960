"""A proxy between an adapter and its department's test system: it records what crosses and can
hang, fail with a status, or drop the connection, so that any adapter's error handling can be
checked without knowing the department."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web

Mode = Literal["pass", "hang", "500", "503", "reset"]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Seen:
    """One request that crossed the proxy."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FaultProxy:
    """Forwards to `target` (scheme://host:port) unless told to misbehave; records every request."""

    target: str
    mode: Mode = "pass"
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; the proxy's base URL."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._http = aiohttp.ClientSession()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def close(self) -> None:
        """Stop, releasing any hanging request."""
        self._release.set()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def misbehave(self, mode: Mode) -> None:
        """From now on: pass, hang, answer 500 or 503, or drop the connection."""
        self._release.set()
        self._release = asyncio.Event()
        self.mode = mode

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        if self.mode == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), 120)
            return web.Response(status=504)
        if self.mode in ("500", "503"):
            return web.Response(
                status=int(self.mode), text="Service Unavailable (injected by the adapter kit)"
            )
        if self.mode == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._http.request(
            request.method,
            self.target + request.path_qs,
            data=body,
            headers=headers,
            allow_redirects=False,
        ) as answer:
            data = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, body=data, headers=kept)
