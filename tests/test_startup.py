"""Company start-up for everyone the center serves: a foreign investor opens a company at one
window, and every department receives the documents and the investment as it codes them."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from hub.model.configuration import HubConfig
from simulators.base import SimulatorSettings
from simulators.ledger import DecisionPolicy
from simulators.runner import settings_for
from tests.conftest import HubDriver, SimulatorControl, by_step
from tests.samples import BUSINESS_STARTUP

# The registration system's business date: the licence, and so the company, dates from it.
LICENCE_DAY = date(2026, 11, 30)


@pytest.fixture
def simulator_settings(config: HubConfig) -> dict[str, SimulatorSettings]:
    """Decisions at once; the registration system's clock reads LICENCE_DAY."""
    immediate = DecisionPolicy(review_after=0, decide_after=0)
    settings = {
        code: settings_for(dept).model_copy(update={"decisions": immediate})
        for code, dept in config.departments.items()
    }
    settings["market_regulation"] = settings["market_regulation"].model_copy(
        update={"today": LICENCE_DAY}
    )
    return settings


@pytest.fixture
def department_overrides(config: HubConfig) -> dict[str, dict[str, Any]]:
    """Every department asked for its decision often, so an approval is seen at once."""
    quick = {"status": {"poll_interval": 0.2, "poll_interval_max": 0.5}}
    return dict.fromkeys(config.departments, quick)


async def test_foreign_invested_company_with_a_passport_holder_is_approved_by_all_four(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The demo's company: a Singapore company and a Hong Kong resident invest, a Singapore
    passport holder represents it; all four departments approve, each told the documents and the
    investment in its own codes."""
    application_id = await hub.submit(BUSINESS_STARTUP)
    view = await hub.wait_for(application_id, lambda v: v["status"] == "approved", within=30)
    assert {d["state"] for d in view["deliveries"]} == {"approved"}

    [registration] = (await sim.received("market_regulation"))["cases"]
    assert registration["fields"]["type"] == "5100"  # 有限责任公司（外商投资）
    assert registration["fields"]["legalRepIdType"] == "208"  # 外国护照
    assert registration["fields"]["investors"] == [
        ["organization", "Cloudsail Holdings Pte. Ltd.", "foreign"],
        ["person", "陈大文", "hk_macao_taiwan"],
    ]
    [seal] = (await sim.received("public_security"))["cases"]
    assert seal["fields"]["LegalRepIdType"] == "208"
    [tax] = (await sim.received("tax"))["cases"]
    assert (tax["fields"]["Fddbrzjlx"], tax["fields"]["Fddbrgj"]) == ("208", "SGP")
    assert tax["fields"]["Djzclx"] == "330"  # 外资企业: no mainland investor
    [employer] = (await sim.received("social_security"))["cases"]
    assert employer["fields"]["fddbrzjlx"] == "208"


async def test_social_insurance_dates_the_employer_from_the_licence(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The founding date reaches social insurance from the registration, not the day of sending."""
    steps = by_step(await hub.delivered(await hub.submit(BUSINESS_STARTUP)))
    assert steps["company_registration"]["outputs"]["founded_on"] == LICENCE_DAY.isoformat()
    [employer] = (await sim.received("social_security"))["cases"]
    assert employer["fields"]["clrq"] == LICENCE_DAY.strftime("%Y%m%d")


def startup(**changes: Any) -> dict[str, Any]:
    """The demo's start-up with the applicant's or the form's values changed."""
    data = copy.deepcopy(BUSINESS_STARTUP)
    for key, value in changes.items():
        if key in data["form"]:
            data["form"][key] = value
        else:
            data["applicant"][key] = value
    return data


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        (startup(investors=[]), "applicant.investors", "not_accepted.investors"),
        (startup(registered_capital=800), "applicant.investors", "not_accepted.contributions"),
        (startup(company_type="partnership"), "form.company_type", "not_accepted.company_type"),
    ],
    ids=["no investors", "contributions short of the capital", "foreign-invested partnership"],
)
async def test_market_regulation_refuses_at_the_window_what_it_would_refuse_later(
    hub: HubDriver, sim: SimulatorControl, data: dict[str, Any], field: str, code: str
) -> None:
    """The regulator's own rule (its plugin's hub_accept) answers 422 in both languages, and
    nothing reaches any department."""
    response = await hub.post("/api/v1/applications", json=data)
    assert response.status == 422
    [problem] = [p for p in (await response.json())["errors"] if p["field"] == field]
    assert problem["code"] == code and problem["message_zh"]
    assert (await sim.received("market_regulation"))["total_requests"] == 0


@pytest.mark.parametrize(
    ("id_type", "id_number", "code"),
    [
        ("hk_macao_permit", "H87654321", "210"),  # 回乡证
        ("taiwan_permit", "01234567", "213"),  # 台胞证
    ],
)
async def test_a_legal_representative_from_hong_kong_or_taiwan_is_taken_by_every_department(
    hub: HubDriver, sim: SimulatorControl, id_type: str, id_number: str, code: str
) -> None:
    """A travel permit holder signs for the company: every department takes the filing, told the
    permit's own code, where it used to refuse its check digit as a resident ID's."""
    data = copy.deepcopy(BUSINESS_STARTUP)
    legal = data["applicant"]["legal_representative"]
    legal.update(id_type=id_type, id_number=id_number)
    del legal["nationality"]  # derived from the permit
    application_id = await hub.submit(data)
    view = await hub.wait_for(application_id, lambda v: v["status"] == "approved", within=30)
    assert {d["state"] for d in view["deliveries"]} == {"approved"}
    assert (await sim.received("tax"))["cases"][0]["fields"]["Fddbrzjlx"] == code
    assert (await sim.received("public_security"))["cases"][0]["fields"]["LegalRepIdType"] == code
