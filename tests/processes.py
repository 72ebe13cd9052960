"""Real hub processes for the reliability tests: a configuration on free ports, `hub serve`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import tomli_w

from tests.conftest import FAST_RETRY, config_on_free_ports

FAST_DISPATCH = {"poll_interval": 0.05, "lease_margin": 1.0, "shutdown_deadline": 10.0}


def _merge(path: Path, changes: Mapping[str, Any]) -> None:
    data = tomllib.loads(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    path.write_text(tomli_w.dumps(data))


def write_config(
    target: Path,
    free_port: Callable[[], int],
    *,
    department: Mapping[str, Any] | None = None,
    per_department: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, int]:
    """The shipped configuration on free ports, with fast retries and dispatch; the ports."""
    ports = config_on_free_ports(target, free_port)
    _merge(target / "hub.toml", {"dispatch": FAST_DISPATCH})
    for path in (target / "departments").glob("*.toml"):
        changes: dict[str, Any] = {"retry": dict(FAST_RETRY), "breaker": {"cooldown": 0.5}}
        for key, value in {
            **(department or {}),
            **(per_department or {}).get(path.stem, {}),
        }.items():
            if isinstance(value, dict):
                changes.setdefault(key, {}).update(value)
            else:
                changes[key] = value
        _merge(path, changes)
    return ports


class HubProcess:
    """`hub serve` as a separate process, as an operator runs it."""

    def __init__(self, config: Path, store_url: str, port: int, logs: Path) -> None:
        self.config = config
        self.store_url = store_url
        self.port = port
        self.logs = logs
        self.process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        """Start it and wait until /readyz says it is ready."""
        self.logs.parent.mkdir(parents=True, exist_ok=True)
        log = self.logs.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--config",
            str(self.config),
            "--store",
            self.store_url,
            "--port",
            str(self.port),
            stdout=log,
            stderr=log,
            env=dict(os.environ),
        )
        log.close()
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                if self.process.returncode is not None:
                    tail = self.logs.read_text()[-3000:]
                    raise AssertionError(f"hub serve exited {self.process.returncode}:\n{tail}")
                try:
                    async with http.get(f"{self.url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"hub serve did not get ready:\n{self.logs.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no cleanup, no lease given back."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def terminate(self) -> int:
        """SIGTERM, and the exit status once it has stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)

    async def wait(self) -> int:
        """Wait for the process to end."""
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), 60)
