"""The hub command: check-config and simulate, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.conftest import CONFIG

HUB = [sys.executable, "-m", "hub.cli"]


def hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the hub command as a separate process."""
    return subprocess.run(
        [*HUB, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=60
    )


def test_check_config_accepts_the_shipped_configuration() -> None:
    """The shipped configuration with the demo credentials passes."""
    result = hub("check-config", "--config", str(CONFIG))
    assert result.returncode == 0, result.stderr
    assert "configuration OK: 4 departments, 3 matters" in result.stdout


def test_check_config_reports_file_and_key_and_fails(tmp_path: Path) -> None:
    """A broken file is named with its key, and the exit status is non-zero."""
    broken = tmp_path / "config"
    shutil.copytree(CONFIG, broken)
    path = broken / "matters" / "social_security.card.toml"
    path.write_text(
        path.read_text().replace('department = "social_security"', 'department = "housing_fund"')
    )
    result = hub("check-config", "--config", str(broken))
    assert result.returncode == 2
    where = "social_security.card.toml: steps.card_application.department"
    assert f"{where}: unknown department 'housing_fund'" in result.stderr


def test_check_config_names_a_missing_credential_variable() -> None:
    """Without the variable set, the file, the key and the variable's name are reported."""
    env = {k: v for k, v in os.environ.items() if k != "HUB_TAX_PASSWORD"}
    result = hub("check-config", "--config", str(CONFIG), env=env)
    assert result.returncode == 2
    assert (
        "tax.toml: credentials.password.env: environment variable HUB_TAX_PASSWORD is not set"
        in result.stderr
    )


def test_check_config_checks_adapters_and_operations(tmp_path: Path) -> None:
    """An unknown adapter and an operation the adapter cannot do are both reported."""
    broken = tmp_path / "config"
    shutil.copytree(CONFIG, broken)
    tax = broken / "departments" / "tax.toml"
    tax.write_text(tax.read_text().replace('adapter = "tax"', 'adapter = "taxx"'))
    card = broken / "matters" / "social_security.card.toml"
    card.write_text(
        card.read_text().replace('operation = "card_application"', 'operation = "card_renewal"')
    )
    result = hub("check-config", "--config", str(broken))
    assert result.returncode == 2
    assert "tax.toml: adapter: no adapter named 'taxx'" in result.stderr
    where = "social_security.card.toml: steps.card_application.operation"
    assert f"{where}: adapter 'social_security' cannot do 'card_renewal'" in result.stderr


async def test_hub_simulate_serves_the_four_systems(
    tmp_path: Path, unused_tcp_port_factory
) -> None:
    """`hub simulate` serves each system on its configured port until SIGTERM."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    ports = {}
    for path in (config / "departments").glob("*.toml"):
        ports[path.stem] = unused_tcp_port_factory()
        text = path.read_text()
        old = text.split('endpoint = "http://127.0.0.1:', 1)[1].split("/", 1)[0]
        path.write_text(text.replace(f"127.0.0.1:{old}", f"127.0.0.1:{ports[path.stem]}"))
    process = await asyncio.create_subprocess_exec(
        *HUB,
        "simulate",
        "--config",
        str(config),
        "--fault",
        "tax:latency=0.01",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        while len(seen) < 4:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, (await process.stderr.read()).decode() if process.stderr else ""
            seen.append(line.split()[0])
        assert sorted(seen) == sorted(ports)
        async with aiohttp.ClientSession() as http:
            for code, port in ports.items():
                async with http.get(f"http://127.0.0.1:{port}/_sim/received") as response:
                    assert response.status == 200, code
            async with http.get(f"http://127.0.0.1:{ports['tax']}/_sim/faults") as response:
                assert (await response.json())["latency"] == 0.01
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0


def test_simulate_refuses_a_bad_fault_spec() -> None:
    """A fault spec that is not DEPT:KEY=VALUE is refused with a usage error."""
    result = hub("simulate", "--config", str(CONFIG), "--fault", "tax-error")
    assert result.returncode == 2
    assert "DEPT:KEY=VALUE" in result.stderr
