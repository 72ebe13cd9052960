"""The frontend's API: acknowledgement only after commit, and clear field-level errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.runtime import RuntimeOptions
from hub.store.engine import create_engine
from hub.store.tables import applications, deliveries
from tests.conftest import HubDriver
from tests.samples import BUSINESS_STARTUP, HOUSEHOLD_TRANSFER, ZHANG_WEI_ID

PROBLEM = "application/problem+json"


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    """How many applications and deliveries the store holds."""
    async with engine.connect() as conn:
        apps = (await conn.execute(select(func.count()).select_from(applications))).scalar_one()
        dels = (await conn.execute(select(func.count()).select_from(deliveries))).scalar_one()
    return apps, dels


@pytest.fixture
def hub_options(store_url: str) -> RuntimeOptions:
    """No dispatcher: what the API alone commits is what these tests look at."""
    return RuntimeOptions(store_url=store_url, dispatch=False)


async def test_application_and_deliveries_are_committed_before_the_202(
    hub: HubDriver, store_url: str
) -> None:
    """When 202 arrives, another connection already sees the application and all its steps."""
    response = await hub.post("/api/v1/applications", json=BUSINESS_STARTUP)
    assert response.status == 202
    body = await response.json()
    assert response.headers["Location"] == f"/api/v1/applications/{body['id']}"
    assert body["status"] == "submitted"
    other = create_engine(store_url)
    try:
        async with other.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        select(deliveries).where(deliveries.c.application_id == body["id"])
                    )
                )
                .mappings()
                .all()
            )
        assert {r["step"]: r["state"] for r in rows} == {
            "company_registration": "pending",
            "seal_engraving": "waiting",
            "tax_registration": "waiting",
            "employer_registration": "waiting",
        }
        assert len({r["delivery_key"] for r in rows}) == 4
    finally:
        await other.dispose()


async def test_application_view_masks_personal_data(hub: HubDriver) -> None:
    """The record comes back normalized and masked; deliveries are listed by step."""
    view = await hub.view(await hub.submit(HOUSEHOLD_TRANSFER))
    applicant = view["record"]["applicant"]
    assert applicant["id_number"] == "110105********451X"
    assert applicant["name"] == "张*"
    assert applicant["phone"] == "+86138****8000"
    assert ZHANG_WEI_ID not in str(view)
    assert [d["step"] for d in view["deliveries"]] == [
        "household_registration",
        "insurance_transfer",
    ]
    assert view["record"]["form"]["move_date"] == "2026-11-20"


async def test_every_field_problem_is_listed_and_nothing_is_stored(hub: HubDriver) -> None:
    """Bad ID checksum, bad phone, unknown field and a missing form field: four problems, 422."""
    data: dict[str, Any] = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(id_number="110105199003074519", phone="12345", nickname="x")
    del data["form"]["move_date"]
    response = await hub.post("/api/v1/applications", json=data)
    assert response.status == 422
    assert response.content_type == PROBLEM
    body = await response.json()
    assert body["type"].endswith("validation")
    assert body["status"] == 422
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("applicant.id_number", "checksum"),
        ("applicant.phone", "invalid"),
        ("applicant.nickname", "unknown_field"),
        ("form.move_date", "required"),
    }
    assert all(e["message"] for e in body["errors"])
    assert await counts(hub.hub.engine) == (0, 0)


async def test_unknown_matter_is_422_naming_the_matters_offered(hub: HubDriver) -> None:
    """A matter the catalog lacks is a field problem at `matter`."""
    response = await hub.post(
        "/api/v1/applications", json={**HOUSEHOLD_TRANSFER, "matter": "pet.licence"}
    )
    assert response.status == 422
    [error] = (await response.json())["errors"]
    assert (error["field"], error["code"]) == ("matter", "unknown_matter")
    assert "household.transfer" in error["message"]


async def test_wrong_applicant_kind_for_the_matter_is_422(hub: HubDriver) -> None:
    """A company cannot file a household transfer."""
    response = await hub.post(
        "/api/v1/applications",
        json={**HOUSEHOLD_TRANSFER, "applicant": BUSINESS_STARTUP["applicant"]},
    )
    assert response.status == 422
    assert ("applicant.kind", "not_allowed") in {
        (e["field"], e["code"]) for e in (await response.json())["errors"]
    }


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"matter": ', "application/json", 400),
        (b"[1, 2]", "application/json", 422),
        (b"matter=household.transfer", "application/x-www-form-urlencoded", 415),
        (b'{"x": "' + b"a" * (1024 * 1024) + b'"}', "application/json", 413),
    ],
)
async def test_bad_bodies_are_problems_that_change_nothing(
    hub: HubDriver, body: bytes, content_type: str, status: int
) -> None:
    """Malformed JSON 400, not an object 422, not JSON 415, too large 413: all problem+json."""
    response = await hub.post(
        "/api/v1/applications", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status
    assert response.content_type == PROBLEM
    problem = await response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert await counts(hub.hub.engine) == (0, 0)


async def test_unknown_application_and_route_are_404_problems(hub: HubDriver) -> None:
    """Unknown ids and unknown paths answer problem+json too."""
    for path in ("/api/v1/applications/01M8CT1A76AV1H1KAQ2G1R85MD", "/api/v1/nothing"):
        response = await hub.get(path)
        assert response.status == 404
        assert response.content_type == PROBLEM


async def test_wrong_method_is_405_with_allow(hub: HubDriver) -> None:
    """DELETE on the collection is not allowed, and the answer says what is."""
    response = await hub.request("DELETE", "/api/v1/applications")
    assert response.status == 405
    assert response.content_type == PROBLEM
    assert "POST" in response.headers["Allow"]


async def test_matters_describe_fields_steps_and_time_limits(hub: HubDriver) -> None:
    """The frontend builds its forms from /api/v1/matters."""
    response = await hub.get("/api/v1/matters")
    matters = {m["code"]: m for m in (await response.json())["items"]}
    startup = matters["business.startup"]
    assert startup["applicant"] == ["organization"]
    assert startup["fields"]["company_type"]["choices"][-1] == "foreign_invested"
    assert startup["steps"][0] == {
        "name": "company_registration",
        "label": "设立登记 (register the company)",
        "department": "market_regulation",
        "after": [],
    }
    assert (startup["statutory_days"], startup["promised_days"]) == (15, 3)


async def test_request_id_is_echoed_and_made_when_missing(hub: HubDriver) -> None:
    """X-Request-Id from the caller comes back; without one, the hub makes one."""
    response = await hub.get("/api/v1/matters", headers={"X-Request-Id": "window-7-0042"})
    assert response.headers["X-Request-Id"] == "window-7-0042"
    response = await hub.get("/api/v1/nothing")
    assert len(response.headers["X-Request-Id"]) == 26
