"""/api/v1/applications/{id}/events: status events as Server-Sent Events, resumable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from aiohttp import web

from hub.api.problems import ProblemError
from hub.ops.auth import FRONTEND, allow
from hub.runtime import HUB
from hub.store import applications as app_store
from hub.store import events

routes = web.RouteTableDef()
POLL_SECONDS = 0.25  # how often the stream looks for new events in the store
HEARTBEAT_SECONDS = 15.0  # a comment line, so that proxies keep the connection open
STOPPING = web.AppKey("events_stopping", asyncio.Event)


def setup(app: web.Application) -> None:
    """End open streams when the app shuts down, so that a graceful stop need not wait for them
    (clients reconnect with Last-Event-ID to another process)."""
    app[STOPPING] = asyncio.Event()

    async def stop_streams(app: web.Application) -> None:
        app[STOPPING].set()

    app.on_shutdown.append(stop_streams)
    app.router.add_routes(routes)


@routes.get("/api/v1/applications/{id}/events")
@allow(FRONTEND)
async def stream(request: web.Request) -> web.StreamResponse:
    """Every status event of the application in order, then new ones as they happen.

    Each event has an `id:`; a client that reconnects with Last-Event-ID (as EventSource does)
    gets what came after it. Events come from the store, so every hub process serves them all.
    """
    hub = request.app[HUB]
    application_id = request.match_info["id"]
    given = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    if not given.isdigit():
        raise ProblemError(
            400,
            "Bad Last-Event-ID",
            "Last-Event-ID is the id of an event: a whole number",
            kind="bad-event-id",
        )
    async with hub.engine.connect() as conn:
        if await app_store.get_application(conn, application_id) is None:
            raise ProblemError(404, "Not Found", "no application with that id", kind="not-found")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    last = int(given)
    quiet_since = time.monotonic()
    stopping = request.app[STOPPING]
    # A client that went away is noticed at the next look, not only at the next write.
    with contextlib.suppress(ConnectionResetError):
        while not stopping.is_set() and request.transport and not request.transport.is_closing():
            async with hub.engine.connect() as conn:
                rows = await events.of_application(conn, application_id, after_id=last)
            for row in rows:
                data = json.dumps(events.event_view(row), ensure_ascii=False)
                await response.write(f"id: {row['id']}\nevent: status\ndata: {data}\n\n".encode())
                last = row["id"]
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                await response.write(b": keep-alive\n\n")
                quiet_since = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_SECONDS)
    return response
