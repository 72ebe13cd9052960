"""Steps that wait for decisions (issue 18, part 1): a step goes after its predecessors' approval,
or only their receipt where the matter says so; a refusal cancels what waits and withdraws what
went out on receipt, through the simulated departments, on both stores."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from hub.model.catalog import Catalog, Matter
from hub.model.configuration import HubConfig
from simulators.base import SimulatorSettings
from simulators.ledger import DecisionPolicy
from tests.conftest import OPERATOR, HubDriver, SimulatorControl, by_step
from tests.samples import BUSINESS_STARTUP, HOUSEHOLD_TRANSFER

MANUAL = DecisionPolicy(review_after=3600, decide_after=3600)
LATER_STEPS = ("seal_engraving", "tax_registration", "employer_registration")

# Moving for a new job: the police register the move; the social insurance center moves the
# records and the housing fund opens an account on the police's receipt alone (`after_received`),
# as departments working in parallel on a received case do. Neither reads what only a decision
# gives (the insurance transfer reads the police's case number, given on receipt).
RELOCATION = copy.deepcopy(HOUSEHOLD_TRANSFER) | {"matter": "test.relocation"}
RELOCATION["form"] = RELOCATION["form"] | {
    "employer_credit_code": "91350100M000100Y43",
    "start_date": "2026-12-01",
}


def relocation(catalog: Catalog) -> Matter:
    """The test matter, from the shipped household transfer and housing fund account."""
    transfer, fund = catalog["household.transfer"], catalog["housing_fund.account"]
    police = transfer.steps["household_registration"]
    return Matter.model_validate(
        {
            "code": "test.relocation",
            "name": "Moving for a new job (test)",
            "applicant": ["person"],
            "statutory_days": transfer.statutory_days,
            "promised_days": transfer.promised_days,
            "fields": {**transfer.fields, **fund.fields},
            "acceptance": [*transfer.acceptance, *fund.acceptance],
            "steps": {
                police.name: police.model_dump(exclude={"name"}),
                "insurance_transfer": {
                    "department": "social_security",
                    "operation": "insurance_transfer",
                    "after_received": [police.name],
                    "uses": {"household_case_no": f"{police.name}.reference"},
                },
                "account_opening": {
                    "department": "housing_fund",
                    "operation": "open_account",
                    "after_received": [police.name],
                },
            },
        }
    )


@pytest.fixture
def config(config: HubConfig) -> HubConfig:
    """The shipped configuration, with the relocation matter added."""
    matters = {**config.catalog.matters, "test.relocation": relocation(config.catalog)}
    return dataclasses.replace(config, catalog=Catalog(matters))


@pytest.fixture
def simulator_settings(
    simulator_settings: dict[str, SimulatorSettings],
) -> dict[str, SimulatorSettings]:
    """Departments decide only when a test tells them to."""
    return {
        code: s.model_copy(update={"decisions": MANUAL}) for code, s in simulator_settings.items()
    }


@pytest.fixture
def department_overrides(config: HubConfig) -> dict[str, dict[str, Any]]:
    """Every department asked for its decision often, so a decision is seen at once."""
    quick = {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
    return dict.fromkeys(config.departments, quick)


def step_is(step: str, *states: str) -> Any:
    """A condition on an application view: the step is in one of the states."""
    return lambda view: by_step(view)[step]["state"] in states


async def test_refused_registration_leaves_no_other_department_with_a_case(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The seal, tax and employer steps wait for registration's approval; refused, they are
    cancelled with the reason, and no other department ever had a case."""
    application_id = await hub.submit(BUSINESS_STARTUP)
    view = await hub.wait_for(application_id, step_is("company_registration", "submitted"))
    reference = by_step(view)["company_registration"]["receipt"]["reference"]
    await sim.decide("market_regulation", reference, "in_review")
    view = await hub.wait_for(application_id, step_is("company_registration", "in_review"))
    assert {by_step(view)[step]["state"] for step in LATER_STEPS} == {"waiting"}

    await sim.decide("market_regulation", reference, "rejected")
    view = await hub.wait_for(application_id, lambda v: v["status"] == "rejected")
    for step in LATER_STEPS:
        delivery = by_step(view)[step]
        assert delivery["state"] == "cancelled"
        assert delivery["last_error"]["code"] == "upstream_refused"
        assert "company_registration" in delivery["last_error"]["message"]
        assert delivery["attempts"] == []
    for department in ("public_security", "tax", "social_security"):
        assert (await sim.received(department))["total_requests"] == 0


async def test_credit_code_is_passed_on_only_from_approval(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The regulator gives the credit code with its approval, not with its receipt: the later
    steps go after the approval, each with that code."""
    application_id = await hub.submit(BUSINESS_STARTUP)
    view = await hub.wait_for(application_id, step_is("company_registration", "submitted"))
    registration = by_step(view)["company_registration"]
    assert "credit_code" not in registration["outputs"]
    assert {by_step(view)[step]["inputs"] for step in LATER_STEPS} == {None}

    await sim.decide("market_regulation", registration["receipt"]["reference"], "approved")
    view = await hub.wait_for(
        application_id, lambda v: all(by_step(v)[s]["state"] == "submitted" for s in LATER_STEPS)
    )
    outputs = by_step(view)["company_registration"]["outputs"]
    [case] = (await sim.received("market_regulation"))["cases"]
    assert outputs["credit_code"] == case["outputs"]["creditCode"]
    assert outputs["founded_on"] == case["outputs"]["establishedOn"]
    for step in LATER_STEPS:
        assert by_step(view)[step]["inputs"]["credit_code"] == outputs["credit_code"]
    assert by_step(view)["employer_registration"]["inputs"]["founded_on"] == outputs["founded_on"]
    [seal] = (await sim.received("public_security"))["cases"]
    assert seal["fields"]["CreditCode"] == outputs["credit_code"]


async def test_household_transfer_insurance_waits_for_the_polices_approval(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Social insurance's transfer stays waiting while the police review the move and while they
    ask for a correction; it goes once they approve, with their case number."""
    application_id = await hub.submit(HOUSEHOLD_TRANSFER)
    view = await hub.wait_for(application_id, step_is("household_registration", "submitted"))
    case_no = by_step(view)["household_registration"]["receipt"]["reference"]
    for decision in ("in_review", "needs_correction"):
        await sim.decide("public_security", case_no, decision)
        view = await hub.wait_for(application_id, step_is("household_registration", decision))
        assert by_step(view)["insurance_transfer"]["state"] == "waiting"
    assert (await sim.received("social_security"))["total_requests"] == 0

    await sim.decide("public_security", case_no, "approved")
    view = await hub.wait_for(application_id, step_is("insurance_transfer", "submitted"))
    assert by_step(view)["household_registration"]["state"] == "approved"
    assert by_step(view)["insurance_transfer"]["inputs"] == {"household_case_no": case_no}
    [case] = (await sim.received("social_security"))["cases"]
    assert case["fields"]["hjbh"] == case_no


async def test_steps_sent_on_receipt_are_withdrawn_when_the_step_before_is_refused(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """With after_received the insurance transfer and the fund account go on the police's
    receipt; the police refuse the move: social insurance withdraws its case, and the housing
    fund, which cannot withdraw, is flagged withdrawal_failed for the operators."""
    application_id = await hub.submit(RELOCATION)
    view = await hub.wait_for(
        application_id,
        lambda v: all(
            by_step(v)[s]["state"] == "submitted"
            for s in ("household_registration", "insurance_transfer", "account_opening")
        ),
    )
    assert by_step(view)["insurance_transfer"]["after_received"] == ["household_registration"]
    case_no = by_step(view)["household_registration"]["receipt"]["reference"]

    await sim.decide("public_security", case_no, "rejected")
    view = await hub.wait_for(
        application_id,
        lambda v: (
            by_step(v)["insurance_transfer"]["state"] == "cancelled"
            and "withdrawal_failed" in by_step(v)["account_opening"]["flags"]
        ),
    )
    assert view["status"] == "rejected"
    because = {"step": "household_registration", "state": "rejected"}
    insurance = by_step(view)["insurance_transfer"]
    assert insurance["last_error"]["code"] == "upstream_refused"
    assert insurance["flags"] == {"withdrawn_because": because}
    assert [a["outcome"] for a in insurance["attempts"] if a["kind"] == "cancel"] == ["cancelled"]
    [case] = (await sim.received("social_security"))["cases"]
    assert case["decision"] == "cancelled"

    account = by_step(view)["account_opening"]
    assert account["state"] == "submitted"  # the fund center keeps its case
    failed = account["flags"]["withdrawal_failed"]
    assert (failed["code"], failed["because"]) == ("cancel_unsupported", because)
    [fund_case] = (await sim.received("housing_fund"))["cases"]
    assert fund_case["decision"] != "cancelled"


@pytest.mark.parametrize(
    "department_overrides",
    [
        {
            "social_security": {
                "retry": {"max_attempts": 2},
                "status": {"poll_interval": 0.1, "poll_interval_max": 0.3},
            },
            "public_security": {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}},
        }
    ],
)
async def test_a_withdrawal_that_keeps_failing_is_dead_lettered_then_replayed(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Social insurance is busy through every try to withdraw: the withdrawal ends a dead letter
    flagged withdrawal_failed, never lost; replayed once the department is back, it withdraws."""
    application_id = await hub.submit(RELOCATION)
    view = await hub.wait_for(application_id, step_is("insurance_transfer", "submitted"))
    case_no = by_step(view)["household_registration"]["receipt"]["reference"]
    await sim.faults("social_security", error_rate=1.0)
    await sim.decide("public_security", case_no, "rejected")
    view = await hub.wait_for(application_id, step_is("insurance_transfer", "dead"), within=30)
    insurance = by_step(view)["insurance_transfer"]
    cancels = [a for a in insurance["attempts"] if a["kind"] == "cancel"]
    assert [a["outcome"] for a in cancels] == ["transient", "transient"]
    assert insurance["flags"]["withdrawal_failed"]["code"] == insurance["last_error"]["code"]
    assert not insurance["cancel_requested"]

    await sim.faults("social_security", error_rate=0.0)
    response = await hub.post(f"/api/v1/deliveries/{insurance['id']}/replay", token=OPERATOR)
    assert response.status == 202, await response.text()
    view = await hub.wait_for(application_id, step_is("insurance_transfer", "cancelled"))
    insurance = by_step(view)["insurance_transfer"]
    assert "withdrawal_failed" not in insurance["flags"]
    assert [a["outcome"] for a in insurance["attempts"] if a["kind"] == "cancel"][-1] == "cancelled"
    [case] = (await sim.received("social_security"))["cases"]
    assert case["decision"] == "cancelled"
    # Withdrawn, not sent again: the department still has the one case.
    assert (await sim.received("social_security"))["total_cases"] == 1


@pytest.mark.parametrize(
    "department_overrides",
    [
        {
            code: {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
            for code in ("public_security", "tax", "social_security")
        }
        | {
            "market_regulation": {
                "retry": {"max_attempts": 2},
                "status": {"poll_interval": 0.1, "poll_interval_max": 0.3},
            }
        }
    ],
)
async def test_steps_cancelled_after_a_dead_letter_wait_again_when_it_is_replayed(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """Registration dead (the regulator busy past its tries): the later steps are cancelled
    with the reason; replayed once the regulator is back, they wait again and go after its
    approval."""
    await sim.faults("market_regulation", error_rate=1.0)
    application_id = await hub.submit(BUSINESS_STARTUP)
    view = await hub.wait_for(application_id, lambda v: v["status"] == "failed")
    assert by_step(view)["company_registration"]["state"] == "dead"
    for step in LATER_STEPS:
        assert by_step(view)[step]["state"] == "cancelled"
        assert by_step(view)[step]["last_error"]["code"] == "upstream_refused"

    await sim.faults("market_regulation", error_rate=0.0)
    registration = by_step(view)["company_registration"]["id"]
    response = await hub.post(f"/api/v1/deliveries/{registration}/replay", token=OPERATOR)
    assert response.status == 202, await response.text()
    view = await hub.wait_for(application_id, step_is("company_registration", "submitted"))
    assert {by_step(view)[step]["state"] for step in LATER_STEPS} == {"waiting"}
    reference = by_step(view)["company_registration"]["receipt"]["reference"]
    await sim.decide("market_regulation", reference, "approved")
    view = await hub.wait_for(
        application_id, lambda v: all(by_step(v)[s]["state"] == "submitted" for s in LATER_STEPS)
    )
    assert view["status"] == "in_progress"
