"""SOAP adapters against their simulators over real sockets: WS-Security, faults, GB18030."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import aiohttp
import pytest
from lxml import etree

from adapters.tax import registration_type
from hub.applications.intake import normalize_application
from hub.model.configuration import HubConfig
from hub.model.record import ApplicationRecord
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    PermanentError,
    TransientError,
)
from hub.transports.exchange import recording
from simulators.runner import Simulators
from tests.conftest import SimulatorControl
from tests.samples import BUSINESS_STARTUP, DOMESTIC_STARTUP, sample

CREDIT_CODE = "91350100M000100Y43"


def record_of(config: HubConfig, data: dict) -> ApplicationRecord:
    """A sample application, normalized as the hub would at intake."""
    return normalize_application(data, config.catalog)


def context(key: str, **inputs: str) -> DeliveryContext:
    """A delivery context for an application APP-1."""
    return DeliveryContext(application_id="APP-1", delivery_key=key, inputs=inputs)


async def test_household_transfer_reaches_public_security_with_key_and_application_id(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """The police register the move under our delivery key and application id."""
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    receipt = await adapters["public_security"].submit(record, step, context("K-PS-1"))
    assert receipt.reference.startswith("GA")
    assert receipt.outputs == {"case_no": receipt.reference}
    received = await sim.received("public_security")
    [case] = received["cases"]
    assert case["delivery_key"] == "K-PS-1"
    assert case["application_id"] == "APP-1"
    assert case["fields"]["IdNumber"] == "11010519900307451X"  # normalized before sending
    # An address is legal text: its full-width digits reach the department as filed.
    assert case["fields"]["ToAddress"] == "示范市新城区人民路１２号"
    assert case["fields"]["MoveDate"] == "2026-11-20"


async def test_soap_envelope_carries_a_fresh_ws_security_username_token(
    hub_config: HubConfig, adapters: dict[str, Adapter]
) -> None:
    """Every send gets a UsernameToken with a new nonce; the stored payload has none."""
    adapter = adapters["public_security"]
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    payload = adapter.prepare(record, step, context("K-PS-2"))
    assert b"UsernameToken" not in payload.body
    wsse = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
    first = etree.fromstring(adapter._secure(payload.body))  # type: ignore[attr-defined]
    second = etree.fromstring(adapter._secure(payload.body))  # type: ignore[attr-defined]
    token = first.find(f".//{wsse}UsernameToken")
    assert token is not None
    assert token.findtext(f"{wsse}Username") == "window-hub"
    password = token.find(f"{wsse}Password")
    assert password is not None
    assert password.get("Type", "").endswith("#PasswordDigest")
    assert first.findtext(f".//{wsse}Nonce") != second.findtext(f".//{wsse}Nonce")


async def test_envelope_without_ws_security_is_refused(
    simulators: Simulators,
    adapters: dict[str, Adapter],
    hub_config: HubConfig,
    http: aiohttp.ClientSession,
) -> None:
    """The simulated bureau refuses a call without a token, so a passing submit proves ours."""
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    payload = adapters["public_security"].prepare(record, step, context("K-PS-3"))
    async with http.post(simulators["public_security"].endpoint, data=payload.body) as response:
        assert response.status == 500
        assert b"wsse:InvalidSecurity" in await response.read()


async def test_wrong_password_is_transient_not_a_rejection(
    hub_config: HubConfig, adapters: dict[str, Adapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused credentials are the hub's to mend; the applicant's filing is not rejected."""
    monkeypatch.setenv("HUB_PUBLIC_SECURITY_PASSWORD", "wrong")
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    with pytest.raises(TransientError) as info:
        await adapters["public_security"].submit(record, step, context("K-PS-4"))
    assert info.value.code == "FailedAuthentication"
    assert info.value.fault_code == "wsse:FailedAuthentication"


async def test_client_fault_is_permanent_with_the_departments_code(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """A soap:Client fault (move date too far ahead) is a rejection carrying PS-1002."""
    far = (date.today() + timedelta(days=200)).isoformat()
    record = record_of(hub_config, sample("household.transfer", move_date=far))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    with pytest.raises(PermanentError) as info:
        await adapters["public_security"].submit(record, step, context("K-PS-5"))
    assert info.value.code == "PS-1002"
    assert "90" in info.value.message
    assert info.value.fault_code == "soap:Client"
    assert info.value.http_status == 500
    assert (await sim.received("public_security"))["total_cases"] == 0


async def test_server_fault_is_transient_with_the_departments_code(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """A soap:Server fault ("busy") is worth retrying and keeps the department's code."""
    await sim.faults("public_security", fail_next=1, fail_kind="error")
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    with pytest.raises(TransientError) as info:
        await adapters["public_security"].submit(record, step, context("K-PS-6"))
    assert (info.value.code, info.value.fault_code) == ("PS-9001", "soap:Server")
    receipt = await adapters["public_security"].submit(record, step, context("K-PS-6"))
    assert receipt.reference


async def test_seal_filing_sends_the_credit_code_and_seal_kind_codes(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """The seal step sends the credit code from its input and maps seal kinds to codes."""
    record = record_of(hub_config, DOMESTIC_STARTUP)
    step = hub_config.catalog["business.startup"].steps["seal_engraving"]
    await adapters["public_security"].submit(
        record, step, context("K-SEAL", credit_code=CREDIT_CODE)
    )
    [case] = (await sim.received("public_security"))["cases"]
    assert case["fields"]["CreditCode"] == CREDIT_CODE
    assert case["fields"]["SealKind"] == ["01", "02", "04"]


async def test_missing_input_from_an_earlier_step_is_permanent(
    hub_config: HubConfig, adapters: dict[str, Adapter]
) -> None:
    """Without the credit code from market regulation there is nothing sensible to send."""
    record = record_of(hub_config, DOMESTIC_STARTUP)
    step = hub_config.catalog["business.startup"].steps["seal_engraving"]
    with pytest.raises(PermanentError) as info:
        adapters["public_security"].prepare(record, step, context("K-SEAL-2"))
    assert info.value.code == "input_missing"
    assert "credit_code" in info.value.message


async def test_tax_bureau_is_spoken_to_in_gb18030_and_answers_in_it(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """The request is GB18030 on the wire, Chinese text arrives intact, and the answer is read."""
    record = record_of(hub_config, DOMESTIC_STARTUP)
    step = hub_config.catalog["business.startup"].steps["tax_registration"]
    payload = adapters["tax"].prepare(record, step, context("K-TAX-1", credit_code=CREDIT_CODE))
    assert payload.body.startswith(b"<?xml version='1.0' encoding='GB18030'?>")
    assert "示范市云帆科技有限公司".encode("gb18030") in payload.body
    receipt = await adapters["tax"].send(payload, context("K-TAX-1", credit_code=CREDIT_CODE))
    assert receipt.outputs["tax_office"] == "国家税务总局示范市税务局第一税务分局"
    [case] = (await sim.received("tax"))["cases"]
    assert case["fields"]["Nsrmc"] == "示范市云帆科技有限公司"
    assert case["fields"]["Fddbrxm"] == "王建国"
    assert (case["fields"]["Fddbrzjlx"], case["fields"]["Fddbrgj"]) == ("201", "CHN")
    assert case["fields"]["Djzclx"] == "159"


async def test_tax_bureau_refuses_utf8(simulators: Simulators, http: aiohttp.ClientSession) -> None:
    """The simulated bureau really does insist on GB18030, so the test above means something."""
    envelope = b"<?xml version='1.0' encoding='UTF-8'?><Envelope/>"
    async with http.post(simulators["tax"].endpoint, data=envelope) as response:
        body = await response.read()
    assert response.status == 500
    assert "请使用GB18030".encode("gb18030") in body


async def test_invalid_credit_code_is_rejected_by_tax_with_its_code(
    hub_config: HubConfig, adapters: dict[str, Adapter]
) -> None:
    """The bureau's own check of the credit code ends as a permanent SW-E0102."""
    record = record_of(hub_config, DOMESTIC_STARTUP)
    step = hub_config.catalog["business.startup"].steps["tax_registration"]
    with pytest.raises(PermanentError) as info:
        await adapters["tax"].submit(
            record, step, context("K-TAX-2", credit_code="91350100M000100Y44")
        )
    assert info.value.code == "SW-E0102"
    assert info.value.message == "纳税人识别号校验失败"


@pytest.mark.parametrize("department", ["public_security", "tax"])
async def test_soap_timeout_is_transient_with_outcome_unknown(
    department: str,
    hub_config: HubConfig,
    adapters: dict[str, Adapter],
    sim: SimulatorControl,
    http: aiohttp.ClientSession,
) -> None:
    """A department that does not answer within its timeout raises a transient timeout."""
    await sim.faults(department, fail_next=1, fail_kind="hang")
    slow = type(adapters[department])(
        hub_config.departments[department].model_copy(update={"timeout": 0.3}), http
    )
    record = record_of(
        hub_config, DOMESTIC_STARTUP if department == "tax" else sample("household.transfer")
    )
    matter = "business.startup" if department == "tax" else "household.transfer"
    step = next(s for s in hub_config.catalog[matter].steps.values() if s.department == department)
    with pytest.raises(TransientError) as info:
        await slow.submit(record, step, context("K-T", credit_code=CREDIT_CODE))
    assert info.value.code == "timeout"
    assert info.value.outcome_unknown


async def test_malformed_soap_answer_is_transient(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """Half an envelope (the department did register it) is transient, outcome unknown to us."""
    await sim.faults("public_security", fail_next=1, fail_kind="malformed")
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    with pytest.raises(TransientError) as info:
        await adapters["public_security"].submit(record, step, context("K-PS-M"))
    assert info.value.code == "malformed_response"
    found = await adapters["public_security"].lookup("K-PS-M")
    assert found is not None
    assert found.reference.startswith("GA")


async def test_query_lookup_and_cancel_at_public_security(
    hub_config: HubConfig, adapters: dict[str, Adapter], simulators: Simulators
) -> None:
    """Status codes map to the hub's states; lookup finds by key; cancel withdraws."""
    adapter = adapters["public_security"]
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    receipt = await adapter.submit(record, step, context("K-PS-Q"))
    status = await adapter.query_status(receipt)
    assert status.state is DepartmentState.APPROVED
    assert status.code == "03"
    assert await adapter.lookup("K-UNKNOWN") is None
    simulators["public_security"].system.decisions = simulators[
        "public_security"
    ].system.decisions.model_copy(update={"decide_after": 3600, "review_after": 3600})
    pending = await adapter.submit(record, step, context("K-PS-C"))
    assert (await adapter.query_status(pending)).state is DepartmentState.SUBMITTED
    await adapter.cancel(pending)
    assert (await adapter.query_status(pending)).state is DepartmentState.CANCELLED


async def test_every_soap_call_is_recorded_for_the_sync_log(
    hub_config: HubConfig, adapters: dict[str, Adapter]
) -> None:
    """A call leaves its sizes, hashes, status and duration in the recording."""
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["household_registration"]
    with recording() as exchanges:
        await adapters["public_security"].submit(record, step, context("K-PS-R"))
    [exchange] = exchanges
    assert exchange.http_status == 200
    assert exchange.request_size > 0
    assert exchange.response_size
    assert exchange.response_size > 0
    assert len(exchange.request_sha256) == 64
    assert exchange.response_sha256
    assert exchange.duration > 0
    assert exchange.department == "public_security"


async def test_vendored_wsdl_matches_what_the_department_publishes(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    """The adapters' copies of the WSDL are the departments' own (contract drift check)."""
    from adapters.public_security import PublicSecurityAdapter
    from adapters.tax import TaxAdapter

    for code, cls in (("public_security", PublicSecurityAdapter), ("tax", TaxAdapter)):
        async with http.get(simulators[code].endpoint + "?wsdl") as response:
            assert await response.read() == cls.wsdl.read_bytes()


async def test_tax_bureau_registers_a_foreign_invested_company_with_a_passport_holder(
    adapters: dict[str, Adapter], hub_config: HubConfig, sim: SimulatorControl
) -> None:
    """The demo's company (a Singapore company and a Hong Kong resident invest; the legal
    representative holds a Singapore passport) is a wholly foreign-owned enterprise (330), and its
    legal representative's document is coded 208 with his nationality."""
    record = record_of(hub_config, BUSINESS_STARTUP)
    step = hub_config.catalog["business.startup"].steps["tax_registration"]
    payload = adapters["tax"].prepare(record, step, context("K-TAX-9", credit_code=CREDIT_CODE))
    await adapters["tax"].send(payload, context("K-TAX-9", credit_code=CREDIT_CODE))
    [case] = (await sim.received("tax"))["cases"]
    assert (case["fields"]["Fddbrxm"], case["fields"]["Fddbrzjlx"]) == ("Tan Ah Kow", "208")
    assert (case["fields"]["Fddbrgj"], case["fields"]["Djzclx"]) == ("SGP", "330")


HK_PERSON = BUSINESS_STARTUP["applicant"]["investors"][1]
SG_COMPANY = BUSINESS_STARTUP["applicant"]["investors"][0]
MAINLAND = DOMESTIC_STARTUP["applicant"]["investors"][0]


@pytest.mark.parametrize(
    ("company_type", "investors", "code"),
    [
        ("limited_liability", [MAINLAND], "159"),
        ("joint_stock", [MAINLAND], "160"),
        ("limited_liability", [HK_PERSON], "230"),
        ("limited_liability", [HK_PERSON, MAINLAND], "210"),
        ("joint_stock", [HK_PERSON], "240"),
        ("limited_liability", [SG_COMPANY], "330"),
        ("limited_liability", [SG_COMPANY, MAINLAND], "310"),
        # Any foreign investor makes it foreign-invested, Hong Kong capital beside it or not.
        ("limited_liability", [SG_COMPANY, HK_PERSON], "330"),
        ("joint_stock", [SG_COMPANY, HK_PERSON, MAINLAND], "340"),
    ],
)
def test_tax_registration_type_follows_the_investors(
    hub_config: HubConfig, company_type: str, investors: list[dict], code: str
) -> None:
    """Hong Kong, Macao and Taiwan investment has registration types of its own (2xx), apart from
    foreign investment (3xx); a joint venture with mainland investors apart from a wholly owned
    enterprise."""
    data = copy.deepcopy(BUSINESS_STARTUP)
    data["applicant"]["investors"] = [dict(i, contribution=1) for i in investors]
    company = record_of(hub_config, data).applicant
    assert registration_type(company, company_type) == code  # type: ignore[arg-type]
