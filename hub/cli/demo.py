"""`hub demo`: the simulated departments, the hub and one application of each matter, live."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from rich.console import Console
from rich.live import Live
from rich.table import Table

from hub.api.app import create_app, listening
from hub.model.configuration import HubConfig
from hub.runtime import RuntimeOptions, wait_for_stop

STATE_STYLE = {
    "waiting": "dim",
    "pending": "yellow",
    "submitted": "cyan",
    "in_review": "blue",
    "needs_correction": "magenta",
    "approved": "green",
    "rejected": "red",
    "cancelled": "dim",
    "failed": "bold red",
    "dead": "bold red",
}


def demo_applications(config: HubConfig) -> list[dict[str, Any]]:
    """The demo's filings: config/demo/<matter>.json for every matter that has one."""
    found = []
    for matter in config.catalog:
        path = config.directory / "demo" / f"{matter.code}.json"
        if path.exists():
            found.append(json.loads(path.read_text()))
    return found


ENDED = {"approved", "rejected", "cancelled", "failed", "dead"}


def done(views: Mapping[str, Mapping[str, Any]]) -> bool:
    """Every delivery of every application is decided by its department, or has failed."""
    return all(d["state"] in ENDED for view in views.values() for d in view["deliveries"])


def lively(config: HubConfig) -> HubConfig:
    """The demo's departments decide within seconds, so the hub asks them every second."""
    departments = {}
    for code, department in config.departments.items():
        status = department.status.model_copy(
            update={
                "poll_interval": min(department.status.poll_interval, 1.0),
                "poll_interval_max": min(department.status.poll_interval_max, 5.0),
            }
        )
        departments[code] = department.model_copy(update={"status": status})
    return dataclasses.replace(config, departments=departments)


def table(views: Mapping[str, Mapping[str, Any]], elapsed: float) -> Table:
    """Progress per department: state, tries, the department's reference, what the step used."""
    grid = Table(title=f"One Window Hub demo — {elapsed:4.1f} s", title_justify="left")
    for column in ("matter (status)", "due", "step", "department", "state", "tries", "reference"):
        grid.add_column(column, no_wrap=True)
    grid.add_column("received from earlier steps", no_wrap=True)
    grid.add_column("returned", no_wrap=True)
    for view in views.values():
        first = True
        for d in view["deliveries"]:
            style = STATE_STYLE.get(d["state"], "")
            reference = (d["receipt"] or {}).get("reference", "")
            inputs = ", ".join(f"{k}={v}" for k, v in (d["inputs"] or {}).items())
            outputs = ", ".join(
                f"{k}={v}" for k, v in (d["outputs"] or {}).items() if v != reference
            )
            error = d["last_error"]["code"] if d["last_error"] else ""
            due = view["due"]
            grid.add_row(
                f"{view['matter']} ({view['status']})" if first else "",
                f"{due['promised']} (by law {due['statutory']})" if first else "",
                d["step"],
                d["department"],
                f"[{style}]{d['state']}[/]" + (f" {error}" if error else ""),
                str(d["attempt_count"]),
                reference,
                inputs,
                outputs,
            )
            first = False
    return grid


async def run_demo(
    config: HubConfig,
    *,
    store_url: str | None,
    exit_when_done: bool,
    give_up_after: float,
    decide_after: float,
    console: Console,
) -> int:
    """Start everything, file the demo applications, show them live; 0 when all got through."""
    # The simulators stand outside the hub; only the demo brings them in.
    from simulators.cli import build_settings
    from simulators.runner import start_simulators

    config = lively(config)
    base = f"http://{config.settings.api.host}:{config.settings.api.port}"
    settings = build_settings(config, (), decide_after)
    for name, department in config.departments.items():
        if department.status.callbacks:  # the departments that push decisions push them here
            url = f"{base}/api/v1/callbacks/{name}"
            settings[name] = settings[name].model_copy(update={"callback_url": url})
    simulators = await start_simulators(config.departments, settings=settings)
    try:
        app = create_app(config, RuntimeOptions(store_url=store_url))
        async with listening(app, config.settings.api.host, config.settings.api.port):
            console.print(f"hub API on {base}/api/v1  (matters: {base}/api/v1/matters)")
            console.print(
                f"operators' console on {base}/console  (log in with HUB_DEMO_OPERATOR_TOKEN from "
                f"{config.directory / 'demo' / 'demo.env'})"
            )
            token = os.environ.get("HUB_DEMO_FRONTEND_TOKEN", "")
            if not token:
                console.print(
                    "[red]HUB_DEMO_FRONTEND_TOKEN is not set (see config/demo/demo.env)[/]"
                )
                return 2
            headers = {"Authorization": f"Bearer {token}"}
            async with aiohttp.ClientSession(base, headers=headers) as http:
                ids = []
                for data in demo_applications(config):
                    async with http.post("/api/v1/applications", json=data) as response:
                        body = await response.json()
                        if response.status != 202:
                            console.print(f"[red]{data['matter']} was refused:[/] {body}")
                            return 1
                        ids.append(body["id"])
                code = await _follow(http, ids, give_up_after, console)
                if exit_when_done or code:
                    return code
                console.print(f"the hub keeps running on {base}; Ctrl-C to stop")
                await wait_for_stop()
                return 0
    finally:
        await simulators.close()


async def _follow(
    http: aiohttp.ClientSession, ids: list[str], give_up_after: float, console: Console
) -> int:
    start = time.monotonic()
    views: dict[str, dict[str, Any]] = {}

    async def refresh() -> None:
        for application_id in ids:
            async with http.get(f"/api/v1/applications/{application_id}") as response:
                views[application_id] = await response.json()

    await refresh()
    with Live(
        table(views, 0), console=console, auto_refresh=False, transient=not console.is_terminal
    ) as live:
        while not done(views):
            if time.monotonic() - start > give_up_after:
                break
            await asyncio.sleep(0.25)
            await refresh()
            live.update(table(views, time.monotonic() - start), refresh=True)
    console.print(table(views, time.monotonic() - start))
    if not done(views):
        console.print(f"[red]not every delivery got through within {give_up_after:g} s[/]")
        return 1
    states = [d["state"] for v in views.values() for d in v["deliveries"]]
    failed = sum(state in ("failed", "dead") for state in states)
    if failed:
        console.print(f"[red]{failed} of {len(states)} deliveries failed[/]")
        return 1
    approved = states.count("approved")
    console.print(f"all {len(states)} deliveries decided by their departments: {approved} approved")
    return 0
