"""One application end to end: API → store → dispatcher → simulated departments, on both stores."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.model.configuration import HubConfig
from hub.store.tables import attempts, deliveries
from hub.store.types import utcnow
from tests.conftest import HubDriver, SimulatorControl, by_step
from tests.samples import BUSINESS_STARTUP, CARD_APPLICATION, HOUSEHOLD_TRANSFER, sample

HELD = frozenset({"submitted", "in_review", "approved"})
"""States of a delivery its department holds (the simulators here decide at once)."""


@pytest.fixture
def department_overrides(config: HubConfig) -> dict[str, dict[str, Any]]:
    """Every department asked for its decision often: a step after another waits for its
    approval, which is seen at once."""
    quick = {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
    return dict.fromkeys(config.departments, quick)


async def test_business_startup_runs_in_dag_order_and_passes_the_credit_code(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Market regulation first; once it approves, its credit code reaches the seal, tax and
    employer steps."""
    view = await hub.delivered(await hub.submit(BUSINESS_STARTUP))
    steps = by_step(view)
    assert steps["company_registration"]["state"] == "approved"
    assert {d["state"] for d in steps.values()} <= HELD
    credit_code = steps["company_registration"]["outputs"]["credit_code"]
    founded_on = steps["company_registration"]["outputs"]["founded_on"]
    for step in ("seal_engraving", "tax_registration"):
        assert steps[step]["inputs"] == {"credit_code": credit_code}
    assert steps["employer_registration"]["inputs"] == {
        "credit_code": credit_code,
        "founded_on": founded_on,
    }
    assert (await sim.received("public_security"))["cases"][0]["fields"][
        "CreditCode"
    ] == credit_code
    assert (await sim.received("tax"))["cases"][0]["fields"]["Nsrsbh"] == credit_code
    assert (await sim.received("social_security"))["cases"][0]["fields"]["tyshxydm"] == credit_code
    # Sent after the status query that saw registration approved, not after its receipt.
    [approval] = [a for a in steps["company_registration"]["attempts"] if a["kind"] == "query"][-1:]
    approved = datetime.fromisoformat(approval["started_at"])
    for step in ("seal_engraving", "tax_registration", "employer_registration"):
        started = datetime.fromisoformat(steps[step]["attempts"][0]["started_at"])
        assert started > approved


async def test_household_transfer_passes_the_police_case_number_on(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The insurance transfer receives the household case number the police returned."""
    steps = by_step(await hub.delivered(await hub.submit(HOUSEHOLD_TRANSFER)))
    case_no = steps["household_registration"]["receipt"]["reference"]
    assert steps["insurance_transfer"]["inputs"] == {"household_case_no": case_no}
    assert (await sim.received("social_security"))["cases"][0]["fields"]["hjbh"] == case_no


async def test_independent_steps_run_in_parallel(hub: HubDriver, sim: SimulatorControl) -> None:
    """The three steps after registration are in flight at the same time, not one by one."""
    # Long enough that the three calls overlap on a loaded machine too (each is begun in the
    # store first, one transaction after the other).
    for department in ("public_security", "tax", "social_security"):
        await sim.faults(department, latency=1.0)
    steps = by_step(await hub.delivered(await hub.submit(BUSINESS_STARTUP)))
    windows = []
    for step in ("seal_engraving", "tax_registration", "employer_registration"):
        [call] = steps[step]["attempts"]
        start = datetime.fromisoformat(call["started_at"]).timestamp()
        windows.append((start, start + call["duration_ms"] / 1000))
    latest_start = max(start for start, _ in windows)
    earliest_end = min(end for _, end in windows)
    assert latest_start < earliest_end, f"calls did not overlap: {windows}"


async def test_transient_failures_are_retried_until_accepted(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Two busy answers from the tax bureau, then acceptance: three attempts in the sync log."""
    await sim.faults("tax", fail_next=2, fail_kind="error")
    steps = by_step(await hub.delivered(await hub.submit(BUSINESS_STARTUP)))
    tax = steps["tax_registration"]
    assert tax["state"] in HELD
    submits = [a for a in tax["attempts"] if a["kind"] == "submit"]
    assert [(a["number"], a["outcome"], a["error_code"]) for a in submits] == [
        (1, "transient", "SW-E9999"),
        (2, "transient", "SW-E9999"),
        (3, "accepted", None),
    ]
    assert submits[0]["fault_code"] == "soap:Server"
    assert len({a["payload_sha256"] for a in submits}) == 1  # the same bytes every time
    assert (await sim.received("tax"))["total_cases"] == 1


@pytest.mark.parametrize("department_overrides", [{"social_security": {"timeout": 0.3}}])
async def test_timeout_is_transient_and_looked_up_before_sending_again(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """A call that hangs past its timeout may have arrived: the hub asks (lookup) before it
    sends again, then the filing is accepted once."""
    await sim.faults("social_security", fail_next=1, fail_kind="hang")
    steps = by_step(await hub.delivered(await hub.submit(CARD_APPLICATION)))
    calls = steps["card_application"]["attempts"]
    assert [(a["kind"], a["outcome"], a["error_code"]) for a in calls] == [
        ("submit", "transient", "timeout"),
        ("lookup", "not_found", None),
        ("submit", "accepted", None),
    ]
    assert (await sim.received("social_security"))["total_cases"] == 1


async def test_permanent_rejection_is_not_retried_and_stops_the_steps_after(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """A taken company name is refused once, with the regulator's code; nothing else is sent."""
    application_id = await hub.submit(
        sample("business.startup", company_name="示范市星辰科技有限公司")
    )
    view = await hub.delivered(application_id)
    steps = by_step(view)
    registration = steps["company_registration"]
    assert registration["state"] == "rejected"
    assert registration["department_status"]["code"] == "MR-4091"
    assert "已被占用" in registration["department_status"]["message"]
    assert [(a["outcome"], a["http_status"]) for a in registration["attempts"]] == [
        ("permanent", 409)
    ]
    for step in ("seal_engraving", "tax_registration", "employer_registration"):
        assert steps[step]["state"] == "cancelled"
        assert steps[step]["attempts"] == []
        assert steps[step]["last_error"]["code"] == "upstream_refused"
    assert view["status"] == "rejected"
    for department in ("public_security", "tax", "social_security"):
        assert (await sim.received(department))["total_requests"] == 0


async def test_attempts_record_sizes_hashes_and_timing(hub: HubDriver) -> None:
    """Each sync-log row holds sizes, SHA-256 of request, response and stored payload, and time."""
    view = await hub.delivered(await hub.submit(CARD_APPLICATION))
    [call] = [a for a in by_step(view)["card_application"]["attempts"] if a["kind"] == "submit"]
    assert call["request_bytes"] > 0
    assert call["response_bytes"] > 0
    assert len(call["request_sha256"]) == len(call["response_sha256"]) == 64
    assert call["duration_ms"] > 0
    assert call["http_status"] == 200
    async with hub.hub.engine.connect() as conn:
        payload = (await conn.execute(select(deliveries.c.payload))).scalar_one()
    assert call["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    # A form post carries no security header, so the wire bytes are the stored payload itself.
    assert call["request_sha256"] == call["payload_sha256"]


async def test_every_call_carries_the_application_id_and_delivery_key(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Departments see X-Hub-Application-Id and X-Hub-Delivery-Key on each submission."""
    application_id = await hub.submit(BUSINESS_STARTUP)
    steps = by_step(await hub.delivered(application_id))
    keys = {d["department"]: d["delivery_key"] for d in steps.values()}
    for department, key in keys.items():
        traces = (await sim.received(department))["traces"]
        assert {"application_id": application_id, "delivery_key": key} in [
            {"application_id": t["application_id"], "delivery_key": t["delivery_key"]}
            for t in traces
        ]
        [case] = (await sim.received(department))["cases"]
        assert (case["delivery_key"], case["application_id"]) == (key, application_id)


async def test_retry_after_from_the_department_is_honoured(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """A 503 with Retry-After: 1 is tried again no sooner than a second later."""
    await sim.faults("market_regulation", fail_next=1, fail_kind="error")
    steps = by_step(await hub.delivered(await hub.submit(BUSINESS_STARTUP)))
    first, second = [a for a in steps["company_registration"]["attempts"] if a["kind"] == "submit"]
    assert (first["outcome"], first["http_status"], first["error_code"]) == (
        "transient",
        503,
        "MR-5030",
    )
    failed_at = (
        datetime.fromisoformat(first["started_at"]).timestamp() + first["duration_ms"] / 1000
    )
    assert datetime.fromisoformat(second["started_at"]).timestamp() - failed_at >= 1.0
    assert second["outcome"] == "accepted"


async def test_a_lease_lost_during_a_call_keeps_its_answer_in_the_sync_log_only(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Another process took the delivery over while its call was out: the department's answer
    is in the sync log, but the delivery is left as the new holder has it."""
    await sim.faults("social_security", latency=1.0)
    application_id = await hub.submit(CARD_APPLICATION)
    engine = hub.hub.engine
    deadline = asyncio.get_running_loop().time() + 20
    while True:  # until the call is out: its attempt row is written, without an outcome yet
        async with engine.connect() as conn:
            call = (
                await conn.execute(
                    select(attempts.c.id).where(
                        attempts.c.application_id == application_id, attempts.c.outcome.is_(None)
                    )
                )
            ).first()
        if call is not None:
            break
        assert asyncio.get_running_loop().time() < deadline, "the call never went out"
        await asyncio.sleep(0.01)
    later = utcnow() + timedelta(minutes=10)
    async with engine.begin() as conn:
        await conn.execute(
            deliveries.update()
            .where(deliveries.c.application_id == application_id)
            .values(locked_by="another-process", locked_until=later)
        )
    while True:
        async with engine.connect() as conn:
            outcome = (
                await conn.execute(select(attempts.c.outcome).where(attempts.c.id == call.id))
            ).scalar_one()
        if outcome is not None:
            break
        assert asyncio.get_running_loop().time() < deadline, "the call's end was never written"
        await asyncio.sleep(0.01)
    assert outcome == "accepted"
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(deliveries).where(deliveries.c.application_id == application_id)
                )
            )
            .mappings()
            .one()
        )
    assert (row["state"], row["locked_by"], row["receipt_reference"]) == (
        "pending",
        "another-process",
        None,
    )
