"""Failure handling with the hub in-process: departments down, hanging, flaky; dead letters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.model.configuration import HubConfig
from hub.store.tables import attempts
from simulators.runner import Simulators
from tests.conftest import OPERATOR, HubDriver, SimulatorControl, by_step
from tests.samples import BUSINESS_STARTUP, CARD_APPLICATION, HOUSEHOLD_TRANSFER

QUICK = {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
"""Asked for decisions often: a step after another waits for its approval."""
HELD = frozenset({"submitted", "in_review", "approved"})
"""States of a delivery its department holds (the simulators here decide at once)."""


@pytest.fixture
def department_overrides(config: HubConfig) -> dict[str, dict[str, Any]]:
    """Every department asked for its decision often."""
    return dict.fromkeys(config.departments, QUICK)


def delivered(view: dict[str, Any]) -> bool:
    return all(d["state"] not in ("waiting", "pending") for d in view["deliveries"])


async def test_department_down_then_back_recovers_without_operator(
    hub: HubDriver, simulators: Simulators, sim: SimulatorControl
) -> None:
    """Tax refuses connections: the other departments finish meanwhile; tax catches up later."""
    await simulators.stop("tax")
    ids = [await hub.submit(BUSINESS_STARTUP) for _ in range(3)]

    def others_done_tax_waiting(view: dict[str, Any]) -> bool:
        steps = by_step(view)
        tax = steps.pop("tax_registration")
        others_done = all(d["state"] in HELD for d in steps.values())
        return others_done and tax["state"] == "pending" and tax["last_error"] is not None

    for application_id in ids:
        view = await hub.wait_for(application_id, others_done_tax_waiting)
        assert by_step(view)["tax_registration"]["last_error"]["code"] == "connect_failed"
    await simulators.start("tax")
    for application_id in ids:
        view = await hub.wait_for(application_id, delivered, within=30)
        assert by_step(view)["tax_registration"]["state"] in HELD
    report = await sim.received("tax")
    assert report["total_cases"] == 3
    assert all(v["cases"] == 1 for v in report["by_key"].values())


@pytest.mark.parametrize(
    "department_overrides",
    [
        dict.fromkeys(("market_regulation", "public_security", "social_security"), QUICK)
        | {"tax": {"timeout": 0.3, "breaker": {"failures": 3, "cooldown": 1.0}}}
    ],
)
async def test_hanging_department_opens_its_breaker_and_others_are_unaffected(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Tax hangs: its breaker opens and calls stop; the others deliver; after the fault, one probe
    closes the breaker and tax delivers too."""
    await sim.faults("tax", hang_rate=1.0)
    ids = [await hub.submit(BUSINESS_STARTUP) for _ in range(3)]

    async def tax_breaker() -> dict[str, Any]:
        response = await hub.get("/api/v1/departments", token=OPERATOR)
        items = {d["code"]: d for d in (await response.json())["items"]}
        breaker: dict[str, Any] = items["tax"]["breaker"]
        return breaker

    for application_id in ids:
        await hub.wait_for(
            application_id,
            lambda v: all(
                d["state"] in HELD for s, d in by_step(v).items() if s != "tax_registration"
            ),
        )
    for _ in range(200):
        if (await tax_breaker())["state"] == "open":
            break
        await hub.view(ids[0])
    breaker = await tax_breaker()
    assert breaker["state"] == "open"
    assert breaker["last_failure_code"] == "timeout"
    in_flight = select(func.count()).where(
        attempts.c.department == "tax", attempts.c.outcome.is_(None)
    )
    for _ in range(100):  # the calls that were under way when it opened time out
        async with hub.hub.engine.connect() as conn:
            if not (await conn.execute(in_flight)).scalar_one():
                break
        await asyncio.sleep(0.05)
    calls = len((await sim.received("tax"))["traces"])
    # While it is open, no call goes out: checked up to just before its cool-down ends.
    open_until = datetime.fromisoformat(breaker["open_until"])
    await asyncio.sleep(max(0.0, (open_until - datetime.now(UTC)).total_seconds() - 0.15))
    assert len((await sim.received("tax"))["traces"]) == calls
    await sim.faults("tax")
    for application_id in ids:
        view = await hub.wait_for(application_id, delivered, within=30)
        assert by_step(view)["tax_registration"]["state"] in HELD
    assert (await tax_breaker())["state"] == "closed"


async def test_thirty_percent_flaky_answers_everything_completes_once(
    hub: HubDriver, sim: SimulatorControl, simulators: Simulators
) -> None:
    """503s, resets and half answers on 30 % of calls everywhere: every filing gets through, each
    department registers each key once (lookup stops the non-deduplicating gateway's doubles)."""
    for department in simulators.running:
        await sim.faults(department, error_rate=0.1, reset_rate=0.1, malformed_rate=0.1, seed=11)
    samples = [BUSINESS_STARTUP, HOUSEHOLD_TRANSFER, CARD_APPLICATION] * 6
    ids = [await hub.submit(data) for data in samples]
    views = [await hub.wait_for(i, delivered, within=60) for i in ids]
    assert {d["state"] for v in views for d in v["deliveries"]} <= HELD
    keys: dict[str, set[str]] = {}
    calls = 0
    for view in views:
        for d in view["deliveries"]:
            keys.setdefault(d["department"], set()).add(d["delivery_key"])
            calls += len(d["attempts"])
    assert calls > sum(len(k) for k in keys.values())  # failures were retried, and recorded
    for department, mine in keys.items():
        report = await sim.received(department)
        assert {k: v["cases"] for k, v in report["by_key"].items() if k in mine} == dict.fromkeys(
            mine, 1
        )
