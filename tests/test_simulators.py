"""The simulated legacy systems: received counts, fault injection and its control routes."""

from __future__ import annotations

import aiohttp
import pytest

from simulators.faults import FaultKind, FaultPlan, Faults
from simulators.runner import Simulators
from tests.conftest import SimulatorControl


async def test_faults_are_validated_and_readable(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    """PUT /_sim/faults refuses nonsense and answers what is now in force."""
    url = f"{simulators['tax'].base_url}/_sim/faults"
    async with http.put(url, json={"error_rate": 2}) as response:
        assert response.status == 422
    async with http.put(url, json={"error_rate": 0.6, "reset_rate": 0.6}) as response:
        assert response.status == 422
    async with http.put(url, json={"latency": 0.01, "error_rate": 0.1}) as response:
        assert response.status == 200
    async with http.get(url) as response:
        faults = await response.json()
    assert (faults["latency"], faults["error_rate"]) == (0.01, 0.1)


async def test_error_faults_strike_before_processing_and_resets_after(
    simulators: Simulators, sim: SimulatorControl, http: aiohttp.ClientSession
) -> None:
    """An injected error registers nothing; a reset registers the case and drops the answer."""
    url = simulators["social_security"].endpoint + "/gateway.do"
    auth = {"Authorization": aiohttp.encode_basic_auth("window-hub", "demo-si-secret")}
    form = {
        "service": "sbk.sq",
        "qqlsh": "K1",
        "sqbh": "A1",
        "xm": "李娜",
        "sfzh": "310115198511202624",
        "lxdh": "13700137000",
        "yhdm": "102",
    }
    await sim.faults("social_security", fail_next=1, fail_kind="error")
    async with http.post(url, data=form, headers=auth) as response:
        assert (await response.json())["code"] == "E999"
    assert (await sim.received("social_security"))["total_cases"] == 0
    await sim.faults("social_security", fail_next=1, fail_kind="reset")
    with pytest.raises(aiohttp.ClientError):
        async with http.post(url, data=form, headers=auth) as response:
            await response.read()
    assert (await sim.received("social_security"))["by_key"] == {"K1": {"requests": 1, "cases": 1}}


def test_fault_rates_draw_roughly_their_share() -> None:
    """A 30 % error rate with a seed fails about 30 % of 2,000 calls, the same way every run."""
    plan = FaultPlan(Faults(error_rate=0.3, seed=7))
    draws = [plan.draw() for _ in range(2000)]
    share = draws.count(FaultKind.ERROR) / len(draws)
    assert 0.25 < share < 0.35
    again = FaultPlan(Faults(error_rate=0.3, seed=7))
    assert [again.draw() for _ in range(2000)] == draws


def test_fail_next_comes_before_the_rates() -> None:
    """fail_next forces exactly that many failures of the chosen kind, then the rates apply."""
    plan = FaultPlan(Faults(fail_next=2, fail_kind=FaultKind.HANG))
    assert [plan.draw() for _ in range(3)] == [FaultKind.HANG, FaultKind.HANG, None]
