"""The benchmark's deployment: the shipped configuration on free ports, tuned to measure overhead.

Waits that exist for real departments' sake (retry backoff of seconds, status polls every
minutes, callbacks) would measure the clock, not the hub: they are made milliseconds. Every
department is polled for its decision, as the bare clients do.
"""

from __future__ import annotations

import os
import shutil
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dotenv
import tomli_w

from bench.wire import Endpoints
from hub.model.configuration import HubConfig, load_config

DISPATCH = {"poll_interval": 0.05, "lease_margin": 2.0, "shutdown_deadline": 2.0}
RETRY = {
    "quick_backoff": 0.01,
    "quick_backoff_max": 0.05,
    "jitter": 0.0,
    "backoff": 0.05,
    "backoff_max": 0.2,
}
STATUS = {"callbacks": False, "poll_interval": 0.01, "poll_interval_max": 1.0}
BREAKER = {"cooldown": 0.5}
DEPARTMENTS = ("public_security", "tax", "market_regulation", "social_security")
"""The departments the benchmarked matters reach (housing_fund is started but not used)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _update(path: Path, changes: Mapping[str, Any]) -> dict[str, Any]:
    data = tomllib.loads(path.read_text())
    for key, value in changes.items():
        if isinstance(value, Mapping):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    path.write_text(tomli_w.dumps(data))
    return data


@dataclass(frozen=True)
class Deployment:
    """A configuration directory for one benchmark run, and what its processes need."""

    directory: Path
    env_file: Path
    secrets: Mapping[str, str]
    urls: Mapping[str, str]

    def environ(self) -> dict[str, str]:
        """The environment for a child process: this one's, plus the demo credentials."""
        return {**os.environ, **self.secrets}

    def endpoints(self) -> Endpoints:
        """Where the bare clients send their calls."""
        return Endpoints(self.urls, self.secrets)

    def config(self) -> HubConfig:
        """The configuration as the hub reads it."""
        os.environ.update({k: v for k, v in self.secrets.items() if k not in os.environ})
        return load_config(self.directory)

    def frontend_token(self) -> str:
        """The bearer token of the demo's window frontend (it has the filing role)."""
        return self.secrets["HUB_DEMO_FRONTEND_TOKEN"]


def prepare(source: Path, target: Path) -> Deployment:
    """Copy the configuration to `target`, on free ports, with millisecond waits."""
    shutil.copytree(source, target)
    _update(target / "hub.toml", {"dispatch": DISPATCH})
    urls = {}
    for path in sorted((target / "departments").glob("*.toml")):
        data = tomllib.loads(path.read_text())
        scheme, _, rest = str(data["endpoint"]).partition("://")
        _, _, tail = rest.partition("/")
        endpoint = f"{scheme}://127.0.0.1:{free_port()}/{tail}"
        _update(
            path,
            {"endpoint": endpoint, "retry": RETRY, "status": STATUS, "breaker": BREAKER},
        )
        urls[path.stem] = endpoint.rstrip("/")
    env_file = target / "demo" / "demo.env"
    secrets = {k: v for k, v in dotenv.dotenv_values(env_file).items() if v is not None}
    return Deployment(target, env_file, secrets, urls)
