"""Departments connected by configuration alone: the generic REST and SOAP adapters."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.generic_soap import GenericSoapAdapter
from hub.applications.intake import normalize_application
from hub.model.departments import Department
from hub.plugin.adapter import DeliveryContext, DepartmentState, PermanentError
from tests.conftest import CONFIG, REPO, HubDriver, SimulatorControl, by_step, hub_command
from tests.samples import BUSINESS_STARTUP, sample

HOUSING = sample("housing_fund.account")


async def test_housing_fund_takes_part_end_to_end_with_no_adapter_code(
    hub: HubDriver, sim: SimulatorControl
) -> None:
    """The fifth department, connected by its configuration file: the request is mapped (dates,
    code tables, the mobile's prefix), the receipt read, the delivery key sent as configured."""
    application_id = await hub.submit(HOUSING)
    view = await hub.delivered(application_id)
    account = by_step(view)["account_opening"]
    assert account["state"] == "submitted"
    assert account["receipt"]["reference"].startswith("GJJ")
    assert account["outputs"]["account_no"] == account["receipt"]["reference"]
    [case] = (await sim.received("housing_fund"))["cases"]
    assert case["fields"] == {
        "name": "李娜",
        "mobile": "13700137000",
        "startMonth": "202612",
        "employer": "91350100M000100Y43",
    }
    assert case["delivery_key"] == account["delivery_key"]
    assert (await sim.received("housing_fund"))["traces"][0]["delivery_key"] == account[
        "delivery_key"
    ]


@pytest.mark.parametrize(
    "department_overrides",
    [{"housing_fund": {"status": {"poll_interval": 0.1, "poll_interval_max": 0.2}}}],
)
async def test_the_departments_own_codes_map_to_the_hubs_states(
    hub: HubDriver, sim: SimulatorControl, simulators: Any
) -> None:
    """Status codes come through the configured table, kept beside the hub's state."""
    system = simulators["housing_fund"].system
    system.decisions = system.decisions.model_copy(
        update={"review_after": 3600, "decide_after": 3600}
    )
    application_id = await hub.submit(HOUSING)
    reference = by_step(await hub.delivered(application_id))["account_opening"]["receipt"][
        "reference"
    ]
    await sim.decide("housing_fund", reference, "approved")
    view = await hub.wait_for(application_id, lambda v: v["status"] == "approved")
    assert by_step(view)["account_opening"]["department_status"]["code"] == "30"


async def test_busy_and_refusing_answers_in_a_200(hub: HubDriver, sim: SimulatorControl) -> None:
    """{"ret": 9001} (maintenance) is retried; {"ret": 2003} is a rejection with its message."""
    await sim.faults("housing_fund", fail_next=2, fail_kind="error")
    busy = by_step(await hub.delivered(await hub.submit(HOUSING)))["account_opening"]
    assert [a["error_code"] for a in busy["attempts"]] == ["9001", "9001", None]
    assert busy["state"] == "submitted"
    refused = by_step(
        await hub.delivered(
            await hub.submit(sample("housing_fund.account", start_date="2024-01-01"))
        )
    )
    account = refused["account_opening"]
    assert account["state"] == "rejected"
    assert account["department_status"] == {
        "code": "2003",
        "message": "缴存起始月超出受理范围（近一年内）",
    }


def broken_config(tmp_path: Path, old: str, new: str) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    path = target / "departments" / "housing_fund.toml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    return target


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'name = { path = "applicant.name" }',
            'name = { path = "aplicant.name" }',
            "person.name: path must start with one of",
        ),
        (
            'startMonth = { path = "form.start_date", date_format = "%Y%m" }',
            'startMonth = { date_format = "%Y%m" }',
            "startMonth",
        ),
        ('states = { "10" = "submitted"', 'states = { "10" = "sent"', "options.status.states.10"),
        (
            'reference = "data.accountNo"\n',
            "",
            "options.operations.open_account.reference: required key is missing",
        ),
    ],
)
async def test_a_bad_mapping_is_named_by_check_config(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    """A mapping that cannot work fails `hub check-config` with the file and the key."""
    result = await hub_command(
        dict(os.environ), "check-config", "--config", str(broken_config(tmp_path, old, new))
    )
    assert result.returncode == 2
    assert "housing_fund.toml: " in result.stderr and message in result.stderr, result.stderr


TAX_BY_CONFIG: dict[str, Any] = {
    "wsdl": str(REPO / "adapters" / "wsdl" / "tax.wsdl"),
    "encoding": "GB18030",
    "operations": {
        "taxpayer_registration": {
            "operation": "RegisterTaxpayer",
            "reference": "Slbh",
            "outputs": {"tax_office": "Swjg"},
            "body": {
                "Lsh": {"path": "delivery_key"},
                "Sqbh": {"path": "application_id"},
                "Nsrsbh": {"path": "inputs.credit_code"},
                "Nsrmc": {"path": "form.company_name"},
                "Fddbrxm": {"path": "applicant.legal_representative.name"},
                "Fddbrzjlx": {
                    "path": "applicant.legal_representative.id_type",
                    "table": {"resident_id": "201", "passport": "208"},
                },
                "Fddbrsfzh": {"path": "applicant.legal_representative.id_number"},
                "Fddbrgj": {"path": "applicant.legal_representative.nationality"},
                "Zcdz": {"path": "form.business_address"},
                "Jyfw": {"path": "form.business_scope"},
                "Djzclx": {
                    "path": "form.company_type",
                    "table": {"joint_stock": "160", "limited_liability": "159"},
                },
            },
        }
    },
    "status": {
        "operation": "QueryAcceptance",
        "body": {"Slbh": {"path": "reference"}},
        "state": "Zt",
        "message": "Ztms",
        "states": {
            "SL": "submitted",
            "SH": "in_review",
            "TG": "approved",
            "BZ": "needs_correction",
            "BTG": "rejected",
        },
    },
}


async def test_a_soap_department_by_configuration(
    simulators: Any, config: Any, http: aiohttp.ClientSession, sim: SimulatorControl
) -> None:
    """The tax bureau, reached through the generic SOAP adapter and a mapping: GB18030,
    WS-Security, the receipt and the status codes as configured."""
    tax = config.departments["tax"]
    department = Department.model_validate(
        tax.model_dump()
        | {
            "adapter": "generic_soap",
            "endpoint": simulators["tax"].endpoint,
            "options": TAX_BY_CONFIG,
        }
    )
    adapter = GenericSoapAdapter(department, http)
    record = normalize_application(BUSINESS_STARTUP, config.catalog)
    step = config.catalog["business.startup"].steps["tax_registration"]
    context = DeliveryContext("APP-7", "K-TAX-GENERIC", {"credit_code": "91350100M000100Y43"})
    payload = adapter.prepare(record, step, context)
    assert payload.body.startswith(b"<?xml version='1.0' encoding='GB18030'?>")
    receipt = await adapter.send(payload, context)
    assert receipt.outputs["tax_office"].startswith("国家税务总局")
    [case] = (await sim.received("tax"))["cases"]
    assert (case["delivery_key"], case["fields"]["Djzclx"]) == ("K-TAX-GENERIC", "159")
    # The legal representative's passport, coded by the mapping's table, with his nationality.
    assert (case["fields"]["Fddbrzjlx"], case["fields"]["Fddbrgj"]) == ("208", "SGP")
    assert (await adapter.query_status(receipt)).state is DepartmentState.APPROVED
    with pytest.raises(PermanentError, match=r"has no inputs\.credit_code"):
        adapter.prepare(record, step, DeliveryContext("APP-7", "K2", {}))
