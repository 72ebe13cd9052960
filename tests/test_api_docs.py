"""docs/api.md's curl examples, run in order against a real hub, so that they cannot go stale."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.model.configuration import load_config
from simulators.runner import start_simulators
from tests.conftest import REPO
from tests.processes import HubProcess, write_config

API_DOC = REPO / "docs" / "api.md"


def commands() -> list[str]:
    """Every `$ ` line of the console blocks in docs/api.md, in order."""
    lines = []
    for block in re.findall(r"```console\n(.*?)```", API_DOC.read_text(), re.S):
        lines += [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    return lines


def test_the_walkthrough_shows_the_main_calls() -> None:
    """The page covers filing, following, events, lists, cancelling, tracking and the contract."""
    script = "\n".join(commands())
    for call in (
        "POST $HUB/api/v1/applications",
        "/events",
        "applications?",
        "/cancel",
        "/api/v1/track/",
        "openapi.json",
    ):
        assert call in script, call


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq"
)
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_every_curl_example_runs_against_a_real_hub(
    tmp_path: Path, unused_tcp_port_factory: Any, store_url: str
) -> None:
    """All the examples, as one shell session (later ones use what earlier ones printed)."""
    ports = write_config(tmp_path / "config", unused_tcp_port_factory)
    sims = await start_simulators(load_config(tmp_path / "config").departments)
    hub = HubProcess(tmp_path / "config", store_url, ports["hub"], tmp_path / "hub.log")
    work = tmp_path / "work"
    work.mkdir()
    (work / "config").symlink_to(REPO / "config")
    script = "set -euo pipefail\n" + "\n".join(
        f"export HUB={hub.url}" if line.startswith("export HUB=") else line for line in commands()
    )
    try:
        await hub.start()
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            script,
            cwd=work,
            env=dict(os.environ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, out.decode()[-4000:]
        assert '"checksum"' in out.decode()  # the 422 example really did list the problems
    finally:
        if hub.process and hub.process.returncode is None:
            await hub.terminate()
        await sims.close()
