"""The frontend's API: acknowledgement only after commit, and clear field-level errors."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.runtime import RuntimeOptions
from hub.store.engine import create_engine
from hub.store.tables import applications, deliveries
from tests.conftest import FRONTEND, OPERATOR, TAX_IT, HubDriver
from tests.pgadmin import database_closed
from tests.samples import BUSINESS_STARTUP, CARD_APPLICATION, HOUSEHOLD_TRANSFER, ZHANG_WEI_ID

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


async def test_passport_holder_without_nationality_is_422_naming_the_field(hub: HubDriver) -> None:
    """A passport says nothing of its holder: the missing nationality is named, nothing stored."""
    data: dict[str, Any] = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(
        id_type="passport", id_number="E12345678", sex="male", birth_date="1990-01-01"
    )
    response = await hub.post("/api/v1/applications", json=data)
    assert response.status == 422
    body = await response.json()
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("applicant.nationality", "nationality_required")
    }
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
    # Foreign investment is derived from the investors, not a company type (since 2020).
    assert startup["fields"]["company_type"]["choices"] == [
        "limited_liability",
        "joint_stock",
        "sole_proprietorship",
        "partnership",
    ]
    assert startup["steps"][0] == {
        "name": "company_registration",
        "label": "设立登记 (register the company)",
        "department": "market_regulation",
        "after": [],
        "after_received": [],
    }
    # The seal, tax and employer steps wait for registration's approval (a credit code exists
    # only then), not for its receipt.
    for step in startup["steps"][1:]:
        assert (step["after"], step["after_received"]) == (["company_registration"], [])
    # 市场主体登记管理条例 (2022) art. 19: 3 working days; the center promises 1.
    assert (startup["statutory_days"], startup["promised_days"]) == (3, 1)


async def test_request_id_is_echoed_and_made_when_missing(hub: HubDriver) -> None:
    """X-Request-Id from the caller comes back; without one, the hub makes one."""
    response = await hub.get("/api/v1/matters", headers={"X-Request-Id": "window-7-0042"})
    assert response.headers["X-Request-Id"] == "window-7-0042"
    response = await hub.get("/api/v1/nothing")
    assert len(response.headers["X-Request-Id"]) == 26


async def test_same_idempotency_key_and_body_answers_the_same_application(hub: HubDriver) -> None:
    """A retried POST with the same Idempotency-Key and body files nothing new."""
    headers = {"Idempotency-Key": "window-7:2026-11-26:0042"}
    first = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    reordered = {k: HOUSEHOLD_TRANSFER[k] for k in reversed(list(HOUSEHOLD_TRANSFER))}
    again = await hub.post("/api/v1/applications", json=reordered, headers=headers)
    assert (first.status, again.status) == (202, 202)
    assert (await first.json())["id"] == (await again.json())["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await counts(hub.hub.engine) == (1, 2)


async def test_same_idempotency_key_with_another_body_is_409(hub: HubDriver) -> None:
    """Reusing a key for a different filing is refused, naming the first application."""
    headers = {"Idempotency-Key": "k-1"}
    first = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    other = await hub.post("/api/v1/applications", json=BUSINESS_STARTUP, headers=headers)
    assert other.status == 409
    assert other.content_type == PROBLEM
    assert (await other.json())["application_id"] == (await first.json())["id"]
    assert await counts(hub.hub.engine) == (1, 2)


async def test_a_key_reused_with_a_body_that_does_not_pass_is_409_not_422(hub: HubDriver) -> None:
    """A repeat is judged by its key before its body: the key names the first application."""
    headers = {"Idempotency-Key": "k-2"}
    first = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    broken = {**HOUSEHOLD_TRANSFER, "matter": "no.such.matter"}
    other = await hub.post("/api/v1/applications", json=broken, headers=headers)
    assert other.status == 409
    assert (await other.json())["application_id"] == (await first.json())["id"]
    fresh = await hub.post("/api/v1/applications", json=broken, headers={"Idempotency-Key": "k-3"})
    assert fresh.status == 422
    assert await counts(hub.hub.engine) == (1, 2)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_a_store_out_of_reach_is_503_and_the_filing_sent_again_files_once(
    hub: HubDriver, store_url: str
) -> None:
    """While the database is down a filing is 503 with Retry-After, not 500; sent again with its
    Idempotency-Key once the database is back, it is filed, once."""
    headers = {"Idempotency-Key": "window-3:outage"}
    async with database_closed(store_url):
        refused = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        assert (await refused.json())["type"].endswith(":store-unavailable")
    filed = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    assert filed.status == 202
    again = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    assert (await again.json())["id"] == (await filed.json())["id"]
    assert await counts(hub.hub.engine) == (1, 2)


async def test_concurrent_requests_with_one_key_file_one_application(hub: HubDriver) -> None:
    """Ten identical requests at once: one application, ten 202s with its id."""
    headers = {"Idempotency-Key": "double-click"}
    responses = await asyncio.gather(
        *(
            hub.post("/api/v1/applications", json=BUSINESS_STARTUP, headers=headers)
            for _ in range(10)
        )
    )
    assert {r.status for r in responses} == {202}
    assert len({(await r.json())["id"] for r in responses}) == 1
    assert await counts(hub.hub.engine) == (1, 4)


async def test_bad_idempotency_key_is_a_field_problem(hub: HubDriver) -> None:
    """A key with spaces or of 201 characters is refused at header.Idempotency-Key."""
    for key in ("has space", "k" * 201):
        response = await hub.post(
            "/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers={"Idempotency-Key": key}
        )
        assert response.status == 422
        assert (await response.json())["errors"][0]["field"] == "header.Idempotency-Key"


async def test_idempotency_keys_belong_to_their_client(hub: HubDriver) -> None:
    """Two clients using the same key file two applications."""
    headers = {"Idempotency-Key": "same-key"}
    one = await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers)
    two = await hub.post(
        "/api/v1/applications", json=HOUSEHOLD_TRANSFER, headers=headers, token=OPERATOR
    )
    assert (await one.json())["id"] != (await two.json())["id"]


@pytest.mark.parametrize(
    ("token", "path", "method", "status"),
    [
        (None, "/api/v1/applications", "POST", 401),
        ("not-a-token", "/api/v1/matters", "GET", 401),
        (FRONTEND, "/api/v1/deliveries", "GET", 403),
        (FRONTEND, "/api/v1/departments", "GET", 403),
        (TAX_IT, "/api/v1/matters", "GET", 403),
        (OPERATOR, "/api/v1/deliveries", "GET", 200),
        (OPERATOR, "/api/v1/matters", "GET", 200),
        (None, "/healthz", "GET", 200),
    ],
)
async def test_tokens_and_roles_decide_who_may_call_what(
    hub: HubDriver, token: str | None, path: str, method: str, status: int
) -> None:
    """No or unknown token → 401 with WWW-Authenticate; a role the route lacks → 403."""
    response = await hub.request(method, path, token=token, json={} if method == "POST" else None)
    assert response.status == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status >= 400:
        assert response.content_type == PROBLEM


CALLERS = {"nobody": None, "frontend": FRONTEND, "operator": OPERATOR, "department:tax": TAX_IT}


def _matrix() -> list[tuple[str, str, str, str | None]]:
    from hub.api.openapi import OPERATIONS

    cases = []
    for op in OPERATIONS:
        for caller in CALLERS:
            cases.append(
                (
                    op.method.upper(),
                    op.path,
                    caller,
                    None if op.roles is None else ",".join(op.roles),
                )
            )
    return cases


@pytest.mark.parametrize(("method", "path", "caller", "roles"), _matrix())
async def test_auth_matrix_every_role_on_every_route(
    hub: HubDriver, method: str, path: str, caller: str, roles: str | None
) -> None:
    """Each route × each caller: no token → 401, a role the route lacks → 403, otherwise the
    request gets past authentication (public routes never ask for a token)."""
    samples = {"id": "01M8CT1A76AV1H1KAQ2G1R85MD", "department": "tax", "code": "tax"}
    samples["reference"] = "260101-0000-0000"
    concrete = re.sub(r"\{(\w+)\}", lambda m: samples[m.group(1)], path)
    response = await hub.request(
        method, concrete, token=CALLERS[caller], json={} if method == "POST" else None
    )
    if roles is None:
        assert response.status not in (401, 403) or path.startswith("/api/v1/callbacks")
    elif caller == "nobody":
        assert response.status == 401
    elif (
        caller == "operator"
        or caller in roles.split(",")
        or (caller.startswith("department:") and "department:<code>" in roles)
    ):
        assert response.status not in (401, 403), await response.text()
    else:
        assert response.status == 403


async def test_listing_filters_and_pages(hub: HubDriver) -> None:
    """Filters by matter, status and department; pages newest first with a cursor."""
    card = await hub.submit(CARD_APPLICATION)
    move = await hub.submit(HOUSEHOLD_TRANSFER)
    startup = await hub.submit(BUSINESS_STARTUP)

    async def ids(query: str) -> list[str]:
        body = await (await hub.get(f"/api/v1/applications{query}")).json()
        return [item["id"] for item in body["items"]]

    assert await ids("") == [startup, move, card]
    assert await ids("?matter=household.transfer") == [move]
    assert await ids("?department=tax") == [startup]
    assert await ids("?department=social_security") == [startup, move, card]
    assert await ids("?status=submitted") == [startup, move, card]
    assert await ids("?status=approved") == []
    first = await (await hub.get("/api/v1/applications?limit=2")).json()
    assert [i["id"] for i in first["items"]] == [startup, move]
    rest = await ids(f"?limit=2&cursor={first['next_cursor']}")
    assert rest == [card]
    bad = await hub.get("/api/v1/applications?limit=0&colour=red&status=lost")
    assert bad.status == 422
    assert {e["field"] for e in (await bad.json())["errors"]} == {
        "query.limit",
        "query.colour",
        "query.status",
    }
