"""The hub command: check-config and simulate, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from hub.model.configuration import HubConfig
from hub.model.timelimits import NATIONAL_CALENDAR
from tests.conftest import CONFIG, config_on_free_ports

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
    assert "configuration OK: 5 departments, 4 matters" in result.stdout
    # On the real date: the shipped calendar covers this year; from 1 November, while next
    # year's arrangement is not listed yet, that is the only thing said, as a warning.
    for line in result.stderr.splitlines():
        assert line.startswith("warning: ") and "calendar.toml: covers: " in line, line


def test_check_config_names_a_step_waiting_for_both_approval_and_receipt(tmp_path: Path) -> None:
    """A step listed in both after and after_received: the file and key named; exit 2."""
    broken = tmp_path / "config"
    shutil.copytree(CONFIG, broken)
    path = broken / "matters" / "business.startup.toml"
    text = path.read_text()
    listed = 'operation = "seal_engraving"\nafter = ["company_registration"]'
    assert listed in text
    path.write_text(text.replace(listed, f'{listed}\nafter_received = ["company_registration"]'))
    result = hub("check-config", "--config", str(broken))
    assert result.returncode == 2, result.stdout
    assert (
        "business.startup.toml: steps.seal_engraving.after_received[0]: 'company_registration' "
        "is in both after"
    ) in result.stderr


def test_check_config_fails_when_the_calendar_does_not_cover_this_year(
    tmp_path: Path, config: HubConfig
) -> None:
    """A calendar of last year alone: the file, `covers` and this year are named; exit 2."""
    this_year = config.clock.today(datetime.now(UTC)).year
    stale = tmp_path / "config"
    shutil.copytree(CONFIG, stale)
    (stale / "calendar.toml").write_text(f"covers = [{this_year - 1}]\n")
    result = hub("check-config", "--config", str(stale))
    assert result.returncode == 2
    assert f"calendar.toml: covers: {this_year} is not covered" in result.stderr


def test_check_config_names_a_calendar_date_outside_the_covered_years(tmp_path: Path) -> None:
    """A center's own calendar, copied from the national one, with a holiday listed for a year
    `covers` leaves out: a problem at its index."""
    broken = tmp_path / "config"
    shutil.copytree(CONFIG, broken)
    path = broken / "calendar.toml"
    national = NATIONAL_CALENDAR.read_text()
    path.write_text(national.replace("holidays = [", "holidays = [\n    2099-01-01,"))
    result = hub("check-config", "--config", str(broken))
    assert result.returncode == 2
    assert "calendar.toml: holidays[0]: 2099-01-01 is in 2099, which `covers` does not list" in (
        result.stderr
    )


def test_check_config_reports_file_and_key_and_fails(tmp_path: Path) -> None:
    """A broken file is named with its key, and the exit status is non-zero."""
    broken = tmp_path / "config"
    shutil.copytree(CONFIG, broken)
    path = broken / "matters" / "social_security.card.toml"
    path.write_text(
        path.read_text().replace('department = "social_security"', 'department = "city_archives"')
    )
    result = hub("check-config", "--config", str(broken))
    assert result.returncode == 2
    where = "social_security.card.toml: steps.card_application.department"
    assert f"{where}: unknown department 'city_archives'" in result.stderr


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


async def test_hub_simulate_serves_every_system(tmp_path: Path, unused_tcp_port_factory) -> None:
    """`hub simulate` serves each system on its configured port until SIGTERM."""
    config = tmp_path / "config"
    ports = config_on_free_ports(config, unused_tcp_port_factory)
    del ports["hub"]
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
        while len(seen) < len(ports):
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


def test_demo_delivers_every_application_and_shows_the_credit_code(
    tmp_path: Path, unused_tcp_port_factory
) -> None:
    """`hub demo --exit-when-done` files one application per matter and exits 0 once every
    department decided; its table shows the credit code reaching the seal, tax and employer
    steps, the decisions and the due dates."""
    config = tmp_path / "config"
    ports = config_on_free_ports(config, unused_tcp_port_factory)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HUB_")
    }  # demo.env supplies them
    result = subprocess.run(
        [
            *HUB,
            "demo",
            "--exit-when-done",
            "--config",
            str(config),
            "--store",
            f"sqlite:///{tmp_path / 'demo.db'}",
            "--timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    [registration] = [line for line in lines if "company_registration" in line]
    credit_code = re.search(r"credit_code=(\w{18})", registration)
    assert credit_code, registration
    for step in ("seal_engraving", "tax_registration", "employer_registration"):
        [line] = [line for line in lines if step in line]
        assert f"credit_code={credit_code.group(1)}" in line
    assert "all 8 deliveries decided by their departments: 8 approved" in result.stdout
    assert f"operators' console on http://127.0.0.1:{ports['hub']}/console" in result.stdout
    assert re.search(
        r"business\.startup \(approved\)\s*│ \d{4}-\d\d-\d\d \(by law \d{4}-\d\d-\d\d\)",
        result.stdout,
    )
    assert (tmp_path / "var" / "log" / "hub-demo.log").stat().st_size > 0
