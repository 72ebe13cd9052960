"""The built-in adapters, and the config-only housing fund, pass the adapter kit against their
simulators: the same test class a department's IT team subclasses."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import aiohttp
import dotenv
import pytest
import pytest_asyncio

from adapters.generic_rest import GenericRestAdapter
from adapters.market_regulation import MarketRegulationAdapter
from adapters.public_security import PublicSecurityAdapter
from adapters.social_security import SocialSecurityAdapter
from adapters.tax import TaxAdapter
from hub.model.departments import read_department
from hub.plugin.adapter import Receipt
from hub.testing import AdapterConformance
from simulators import housing_fund, market_regulation, public_security, social_security, tax
from simulators.ledger import Decision
from simulators.runner import start_simulators
from tests.conftest import CONFIG

# How each simulated case state reads in the hub's vocabulary: what every adapter must map to.
HUB_STATE = {
    Decision.ACCEPTED: "submitted",
    Decision.IN_REVIEW: "in_review",
    Decision.APPROVED: "approved",
    Decision.NEEDS_CORRECTION: "needs_correction",
    Decision.REJECTED: "rejected",
    Decision.CANCELLED: "cancelled",
}
DEMO_ENV = dotenv.dotenv_values(CONFIG / "demo" / "demo.env")


def _code(spelling: str | tuple[str, str]) -> str:
    return spelling if isinstance(spelling, str) else spelling[0]


def demo(name: str) -> dict[str, Any]:
    """A demo application body."""
    data: dict[str, Any] = json.loads((CONFIG / "demo" / f"{name}.json").read_text())
    return data


def changed(data: Mapping[str, Any], section: str, **values: Any) -> dict[str, Any]:
    """A copy of an application body with some of one section's values changed."""
    body = copy.deepcopy(dict(data))
    body[section].update(values)
    return body


class Simulated(AdapterConformance):
    """The kit wired to one of the simulators, which can be told to decide any case."""

    status: ClassVar[Mapping[Decision, str | tuple[str, str]]]
    code: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.department_file = CONFIG / "departments" / f"{cls.code}.toml"
        credentials = read_department(cls.department_file).credentials
        cls.credentials = {name: str(DEMO_ENV[ref.env]) for name, ref in credentials.items()}
        cls.states = {_code(spelling): HUB_STATE[d] for d, spelling in cls.status.items()}

    @pytest_asyncio.fixture
    async def department(self, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
        system = read_department(self.department_file)
        for name, credential in system.credentials.items():
            monkeypatch.setenv(credential.env, self.credentials[name])  # the system checks them
        sims = await start_simulators({self.code: system}, any_port=True)
        try:
            yield sims[self.code].endpoint
        finally:
            await sims.close()

    async def decide(self, endpoint: str, receipt: Receipt, code: str) -> None:
        decision = next(d for d, spelling in self.status.items() if _code(spelling) == code)
        base = endpoint.split("/", 3)[:3]
        url = "/".join(base) + f"/_sim/cases/{receipt.reference}/decision"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json={"decision": decision}) as response,
        ):
            assert response.status == 200, await response.text()


class TestPublicSecurity(Simulated):
    code = "public_security"
    adapter = PublicSecurityAdapter
    status = public_security.STATUS
    matter_file = CONFIG / "matters" / "household.transfer.toml"
    operation = "household_transfer"
    application = demo("household.transfer")
    refused = changed(application, "form", move_date="2099-01-01")
    refusal_code = "PS-1002"


class TestTax(Simulated):
    code = "tax"
    adapter = TaxAdapter
    status = tax.STATUS
    matter_file = CONFIG / "matters" / "business.startup.toml"
    operation = "taxpayer_registration"
    application = demo("business.startup")
    inputs: ClassVar[Mapping[str, Any]] = {"credit_code": "91110105MA01AB2C3F"}
    refused = application
    refused_inputs: ClassVar[Mapping[str, Any]] = {"credit_code": "91110105MA01AB2C3X"}  # bad check
    refusal_code = "SW-E0102"


class TestMarketRegulation(Simulated):
    code = "market_regulation"
    adapter = MarketRegulationAdapter
    status = market_regulation.STATUS
    matter_file = CONFIG / "matters" / "business.startup.toml"
    operation = "company_registration"
    application = demo("business.startup")
    refused = changed(application, "form", company_name="示范市星辰科技有限公司")
    refusal_code = "MR-4091"


class TestSocialSecurity(Simulated):
    code = "social_security"
    adapter = SocialSecurityAdapter
    status = social_security.STATUS
    matter_file = CONFIG / "matters" / "social_security.card.toml"
    operation = "card_application"
    application = demo("social_security.card")
    # A foreign number: the gateway takes domestic ones only.
    refused = changed(application, "applicant", phone="+44 20 7946 0958")
    refusal_code = "E017"


class TestHousingFundByConfigurationAlone(Simulated):
    code = "housing_fund"
    adapter = GenericRestAdapter
    status = housing_fund.STATUS
    matter_file = CONFIG / "matters" / "housing_fund.account.toml"
    operation = "open_account"
    application = demo("housing_fund.account")
    refused = changed(application, "form", start_date="2020-01-01")
    refusal_code = "2003"


def test_the_kit_is_loaded_through_the_pytest11_entry_point(pytestconfig: pytest.Config) -> None:
    """An adapter package's tests get the kit by installing the hub, with no conftest import."""
    assert pytestconfig.pluginmanager.has_plugin("hub_adapter_kit")
