"""REST adapters against their simulators over real sockets: statuses and legacy body codes."""

from __future__ import annotations

import aiohttp
import pytest

from hub.applications.intake import normalize_application
from hub.model.configuration import HubConfig
from hub.model.identity import normalize_credit_code
from hub.model.record import ApplicationRecord
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    PermanentError,
    TransientError,
)
from tests.conftest import SimulatorControl
from tests.samples import BUSINESS_STARTUP, CARD_APPLICATION, sample

CREDIT_CODE = "91350100M000100Y43"


def record_of(config: HubConfig, data: dict) -> ApplicationRecord:
    """A sample application, normalized as the hub would at intake."""
    return normalize_application(data, config.catalog)


def context(key: str, **inputs: str) -> DeliveryContext:
    """A delivery context for an application APP-2."""
    return DeliveryContext(application_id="APP-2", delivery_key=key, inputs=inputs)


async def register(config: HubConfig, adapter: Adapter, key: str, **form: object):
    """Submit the sample start-up to market regulation."""
    record = record_of(config, sample("business.startup", **form))
    step = config.catalog["business.startup"].steps["company_registration"]
    return await adapter.submit(record, step, context(key))


async def test_market_regulation_returns_a_valid_credit_code(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """The receipt carries the registration number and a credit code that passes GB 32100."""
    receipt = await register(hub_config, adapters["market_regulation"], "K-MR-1")
    assert receipt.reference.startswith("SC")
    code = receipt.outputs["credit_code"]
    assert normalize_credit_code(code) == code
    [case] = (await sim.received("market_regulation"))["cases"]
    assert (case["delivery_key"], case["application_id"]) == ("K-MR-1", "APP-2")
    assert case["fields"]["type"] == "5100"  # foreign-invested, in the regulator's code table


async def test_same_delivery_key_registers_once(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """The regulator deduplicates on Idempotency-Key: a resend returns the same registration."""
    first = await register(hub_config, adapters["market_regulation"], "K-MR-2")
    again = await register(hub_config, adapters["market_regulation"], "K-MR-2")
    assert first == again
    received = await sim.received("market_regulation")
    assert received["by_key"]["K-MR-2"] == {"requests": 2, "cases": 1}


async def test_name_taken_is_permanent_with_code_and_status(
    hub_config: HubConfig, adapters: dict[str, Adapter]
) -> None:
    """A 409 with the regulator's code is a rejection: MR-4091, HTTP 409, its own message."""
    with pytest.raises(PermanentError) as info:
        await register(
            hub_config,
            adapters["market_regulation"],
            "K-MR-3",
            company_name="示范市星辰科技有限公司",
        )
    assert (info.value.code, info.value.http_status) == ("MR-4091", 409)
    assert "已被占用" in info.value.message


async def test_503_is_transient_and_honours_retry_after(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """A 503 is worth retrying, after the Retry-After the department asked for."""
    await sim.faults("market_regulation", fail_next=1, fail_kind="error")
    with pytest.raises(TransientError) as info:
        await register(hub_config, adapters["market_regulation"], "K-MR-4")
    assert (info.value.code, info.value.http_status, info.value.retry_after) == (
        "MR-5030",
        503,
        1.0,
    )


async def test_bad_token_is_transient_auth_failure(
    hub_config: HubConfig, adapters: dict[str, Adapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 is the hub's configuration to mend, never the applicant's rejection."""
    monkeypatch.setenv("HUB_MARKET_REGULATION_TOKEN", "stale")
    with pytest.raises(TransientError) as info:
        await register(hub_config, adapters["market_regulation"], "K-MR-5")
    assert (info.value.code, info.value.http_status) == ("MR-4010", 401)


@pytest.mark.parametrize(
    ("kind", "code"),
    [("hang", "timeout"), ("reset", "connection_lost"), ("malformed", "malformed_response")],
)
async def test_rest_network_faults_are_transient(
    kind: str,
    code: str,
    hub_config: HubConfig,
    adapters: dict[str, Adapter],
    sim: SimulatorControl,
    http: aiohttp.ClientSession,
) -> None:
    """Timeouts, dropped connections and half answers are transient, outcome unknown."""
    await sim.faults("market_regulation", fail_next=1, fail_kind=kind)
    department = hub_config.departments["market_regulation"].model_copy(update={"timeout": 0.3})
    adapter = type(adapters["market_regulation"])(department, http)
    with pytest.raises(TransientError) as info:
        await register(hub_config, adapter, f"K-MR-{kind}")
    assert info.value.code == code
    assert info.value.outcome_unknown


async def test_connection_refused_is_transient_and_known_not_sent(
    hub_config: HubConfig, adapters: dict[str, Adapter], http: aiohttp.ClientSession
) -> None:
    """Nobody listening: transient, and the request certainly did not arrive."""
    department = hub_config.departments["market_regulation"].with_endpoint(
        "http://127.0.0.1:9/api/v2"
    )
    adapter = type(adapters["market_regulation"])(department, http)
    with pytest.raises(TransientError) as info:
        await register(hub_config, adapter, "K-MR-R")
    assert info.value.code == "connect_failed"
    assert not info.value.outcome_unknown


async def test_market_regulation_status_lookup_and_withdrawal(
    hub_config: HubConfig, adapters: dict[str, Adapter], simulators
) -> None:
    """Statuses map to the hub's states; lookup by key; withdrawal cancels."""
    adapter = adapters["market_regulation"]
    receipt = await register(hub_config, adapter, "K-MR-Q")
    assert (await adapter.query_status(receipt)).state is DepartmentState.APPROVED
    assert await adapter.lookup("K-MR-Q") == receipt
    assert await adapter.lookup("K-MR-NONE") is None
    system = simulators["market_regulation"].system
    system.decisions = system.decisions.model_copy(update={"decide_after": 3600, "review_after": 0})
    pending = await register(hub_config, adapter, "K-MR-C")
    assert (await adapter.query_status(pending)).state is DepartmentState.IN_REVIEW
    await adapter.cancel(pending)
    status = await adapter.query_status(pending)
    assert (status.state, status.code) == (DepartmentState.CANCELLED, "WITHDRAWN")


async def test_social_security_card_application_in_legacy_format(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """Form fields in the gateway's names, phone as 11 digits, bank as its code; key as qqlsh."""
    record = record_of(hub_config, CARD_APPLICATION)
    step = hub_config.catalog["social_security.card"].steps["card_application"]
    receipt = await adapters["social_security"].submit(record, step, context("K-SI-1"))
    assert receipt.reference.startswith("SB")
    [case] = (await sim.received("social_security"))["cases"]
    assert case["delivery_key"] == "K-SI-1"
    assert case["application_id"] == "APP-2"
    assert case["fields"] == {
        "xm": "李娜",
        "sfzh": "310115198511202624",
        "lxdh": "13700137000",
        "yhdm": "102",
    }


async def test_social_security_dates_are_yyyymmdd(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """The insurance transfer sends the move date as yyyymmdd and the police case number."""
    record = record_of(hub_config, sample("household.transfer"))
    step = hub_config.catalog["household.transfer"].steps["insurance_transfer"]
    await adapters["social_security"].submit(
        record, step, context("K-SI-2", household_case_no="GA1")
    )
    [case] = (await sim.received("social_security"))["cases"]
    assert case["fields"]["rq"] == "20261120"
    assert case["fields"]["hjbh"] == "GA1"


async def test_legacy_error_code_in_a_200_is_a_permanent_rejection(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """HTTP 200 with {"code": "E023"} is a rejection carrying E023 and the gateway's message."""
    record = record_of(hub_config, sample("business.startup", employees=0))
    step = hub_config.catalog["business.startup"].steps["employer_registration"]
    with pytest.raises(PermanentError) as info:
        await adapters["social_security"].submit(
            record, step, context("K-SI-3", credit_code=CREDIT_CODE)
        )
    assert (info.value.code, info.value.http_status) == ("E023", 200)
    assert "从业人数为0" in info.value.message
    assert (await sim.received("social_security"))["total_cases"] == 0


async def test_legacy_busy_code_in_a_200_is_transient(
    hub_config: HubConfig, adapters: dict[str, Adapter], sim: SimulatorControl
) -> None:
    """HTTP 200 with {"code": "E999"} means busy: transient."""
    await sim.faults("social_security", fail_next=1, fail_kind="error")
    record = record_of(hub_config, CARD_APPLICATION)
    step = hub_config.catalog["social_security.card"].steps["card_application"]
    with pytest.raises(TransientError) as info:
        await adapters["social_security"].submit(record, step, context("K-SI-4"))
    assert (info.value.code, info.value.http_status) == ("E999", 200)


async def test_legacy_auth_failure_is_transient(
    hub_config: HubConfig, adapters: dict[str, Adapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """E401 inside a 200 is refused credentials: transient, for an operator to mend."""
    monkeypatch.setenv("HUB_SOCIAL_SECURITY_PASSWORD", "wrong")
    record = record_of(hub_config, CARD_APPLICATION)
    step = hub_config.catalog["social_security.card"].steps["card_application"]
    with pytest.raises(TransientError) as info:
        await adapters["social_security"].submit(record, step, context("K-SI-5"))
    assert info.value.code == "E401"


async def test_social_security_status_and_lookup(
    hub_config: HubConfig, adapters: dict[str, Adapter]
) -> None:
    """The gateway's status codes map to the hub's states; lookup finds by serial."""
    adapter = adapters["social_security"]
    record = record_of(hub_config, BUSINESS_STARTUP)
    step = hub_config.catalog["business.startup"].steps["employer_registration"]
    receipt = await adapter.submit(record, step, context("K-SI-Q", credit_code=CREDIT_CODE))
    status = await adapter.query_status(receipt)
    assert (status.state, status.code) == (DepartmentState.APPROVED, "3")
    assert await adapter.lookup("K-SI-Q") == receipt
    assert await adapter.lookup("K-SI-NONE") is None
