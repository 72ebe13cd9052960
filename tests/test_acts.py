"""Record versions and an accountable act for everything: who (client and person) did what."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from typing import Any

import pytest

from hub.api.app import create_app
from hub.model.configuration import HubConfig
from hub.runtime import RuntimeOptions
from simulators.base import SimulatorSettings
from simulators.ledger import DecisionPolicy
from tests.conftest import (
    FRONTEND,
    OPERATOR,
    HubDriver,
    SimulatorControl,
    by_step,
    fast,
    hub_command,
)
from tests.samples import BUSINESS_STARTUP, CARD_APPLICATION, ZHANG_WEI_ID

FAST_POLL = {"status": {"poll_interval": 0.1, "poll_interval_max": 0.3}}
MANUAL = DecisionPolicy(review_after=3600, decide_after=3600)
CLERK = "王芳 (window 3)"
OTHER_CLERK = "li.na"
REPRESENTATIVE = BUSINESS_STARTUP["applicant"]["legal_representative"]

pytestmark = pytest.mark.parametrize(
    "department_overrides",
    [
        {
            "market_regulation": FAST_POLL,
            "tax": FAST_POLL,
            "public_security": FAST_POLL,
            # The card gateway gets one try per claim and two in all: a dead letter to replay.
            "social_security": FAST_POLL | {"retry": {"max_attempts": 2, "quick_attempts": 1}},
        }
    ],
)


@pytest.fixture
def simulator_settings(
    simulator_settings: dict[str, SimulatorSettings],
) -> dict[str, SimulatorSettings]:
    """Departments decide only when a test tells them to."""
    return {
        code: s.model_copy(update={"decisions": MANUAL}) for code, s in simulator_settings.items()
    }


def as_clerk(person: str) -> dict[str, str]:
    """The header a window frontend names its clerk with."""
    return {"X-Hub-Actor": person}


async def trail(hub: HubDriver, query: str = "") -> list[dict[str, Any]]:
    """Every audit entry the API lists for a query, following the cursor through the pages."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_query = query + (f"&cursor={cursor}" if cursor else "")
        response = await hub.get(f"/api/v1/audit?limit=2&{page_query}", token=OPERATOR)
        assert response.status == 200, await response.text()
        page = await response.json()
        entries += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


def no_personal_data(entries: Any) -> None:
    """The entries hold field paths and codes, never the applicant's data in clear."""
    text = json.dumps(entries, ensure_ascii=False)
    for value in (REPRESENTATIVE["name"], REPRESENTATIVE["id_number"], ZHANG_WEI_ID, "张伟"):
        assert value not in text


async def test_a_correction_is_a_new_version_and_a_second_request_is_recorded(
    hub: HubDriver, sim: SimulatorControl, store_url: str
) -> None:
    """The filing is version 1, the correction 2 (both kept, masked, with their clerk); the
    delivery says which it sent; a second request to correct is counted and audited; the
    withdrawal is audited; `hub audit show` prints the same trail."""
    response = await hub.post(
        "/api/v1/applications", json=BUSINESS_STARTUP, headers=as_clerk(CLERK)
    )
    assert response.status == 202
    application_id = (await response.json())["id"]
    # Only the registration is followed: when the later steps go out is not this test's concern.
    view = await hub.wait_for(
        application_id, lambda v: by_step(v)["company_registration"]["state"] == "submitted"
    )
    assert view["filed_by"] == {"client": "window-frontend", "person": CLERK}
    registration = by_step(view)["company_registration"]
    assert registration["record_version"] == 1 and registration["correction_requests"] == 0

    await sim.decide("market_regulation", registration["receipt"]["reference"], "needs_correction")
    view = await hub.wait_for(application_id, lambda v: v["status"] == "needs_correction")
    assert by_step(view)["company_registration"]["correction_requests"] == 1
    assert not by_step(view)["company_registration"]["repeated_correction_request"]

    corrected = copy.deepcopy(BUSINESS_STARTUP)
    corrected["form"]["business_scope"] = "软件开发；数据处理服务"
    response = await hub.post(
        f"/api/v1/applications/{application_id}/corrections",
        json=corrected,
        headers=as_clerk(OTHER_CLERK),
    )
    assert response.status == 202
    view = await hub.wait_for(
        application_id, lambda v: by_step(v)["company_registration"]["state"] == "submitted"
    )
    assert view["record_version"] == 2
    assert by_step(view)["company_registration"]["record_version"] == 2
    assert view["filed_by"]["person"] == CLERK  # the filing's clerk, not the correction's

    response = await hub.get(f"/api/v1/applications/{application_id}/versions")
    assert response.status == 200
    versions = (await response.json())["items"]
    assert [(v["version"], v["filed_by"]["person"]) for v in versions] == [
        (1, CLERK),
        (2, OTHER_CLERK),
    ]
    assert {v["filed_by"]["client"] for v in versions} == {"window-frontend"}
    assert (
        versions[0]["record"]["form"]["business_scope"]
        == BUSINESS_STARTUP["form"]["business_scope"]
    )
    assert versions[1]["record"]["form"]["business_scope"] == "软件开发；数据处理服务"
    no_personal_data(versions)  # masked like the record
    assert (await hub.get("/api/v1/applications/nope/versions")).status == 404

    reference = by_step(view)["company_registration"]["receipt"]["reference"]
    await sim.decide("market_regulation", reference, "needs_correction")
    view = await hub.wait_for(
        application_id,
        lambda v: by_step(v)["company_registration"]["repeated_correction_request"],
    )
    assert by_step(view)["company_registration"]["correction_requests"] == 2
    listed = await hub.get(f"/api/v1/deliveries?application_id={application_id}", token=OPERATOR)
    supervised = {d["step"]: d for d in (await listed.json())["items"]}
    assert supervised["company_registration"]["repeated_correction_request"]

    response = await hub.post(
        f"/api/v1/applications/{application_id}/cancel", headers=as_clerk(CLERK)
    )
    assert response.status == 202

    entries = await trail(hub, f"application_id={application_id}")
    acts = [(e["kind"], e["client"], e["person"]) for e in entries]
    assert acts == [
        ("application.file", "window-frontend", CLERK),
        ("application.correct", "window-frontend", OTHER_CLERK),
        ("delivery.correction_repeated", "department:market_regulation", None),
        ("application.withdraw", "window-frontend", CLERK),
    ]
    assert entries[1]["detail"]["version"] == 2
    assert entries[1]["detail"]["fields"] == ["form.business_scope"]
    assert entries[2]["detail"]["request"] == 2
    no_personal_data(entries)

    env = {**os.environ, "HUB_STORE_URL": store_url}
    shown = await hub_command(env, "audit", "show", "--application", application_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert [json.loads(line) for line in shown.stdout.splitlines()] == entries
    table = await hub_command(env, "audit", "show", "--actor", OTHER_CLERK, "--kind", "application")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:5] == ["ID", "AT", "CLIENT", "PERSON", "KIND"]
    assert len(lines) == 2 and "application.correct" in lines[1] and OTHER_CLERK in lines[1]


async def test_every_act_names_its_client_and_person(
    hub: HubDriver, sim: SimulatorControl, store_url: str
) -> None:
    """A refusal at intake (codes, no values), a replay, a pause and a resume through the API
    and from the shell (`--as`): each an entry with its client and person; the filters hold."""
    refused = copy.deepcopy(CARD_APPLICATION)
    refused["applicant"]["id_number"] = ZHANG_WEI_ID[:-1] + "0"  # a broken checksum
    response = await hub.post("/api/v1/applications", json=refused, headers=as_clerk(CLERK))
    assert response.status == 422

    await sim.faults("social_security", error_rate=1.0)
    response = await hub.post(
        "/api/v1/applications", json=CARD_APPLICATION, headers=as_clerk(CLERK)
    )
    application_id = (await response.json())["id"]
    view = await hub.wait_for(application_id, lambda v: v["status"] == "failed", within=30)
    card = by_step(view)["card_application"]
    await sim.faults("social_security")
    response = await hub.post(
        f"/api/v1/deliveries/{card['id']}/replay", token=OPERATOR, headers=as_clerk("ops.zhao")
    )
    assert response.status == 202
    for action in ("pause", "resume"):
        response = await hub.post(
            f"/api/v1/departments/tax/{action}",
            json={"reason": "drill"} if action == "pause" else None,
            token=OPERATOR,
            headers=as_clerk("ops.zhao"),
        )
        assert response.status == 200
    env = {**os.environ, "HUB_STORE_URL": store_url, "HUB_CONFIG": str(hub.hub.config.directory)}
    paused = await hub_command(
        env, "departments", "pause", "tax", "--reason", "upgrade", "--as", "ops.qian"
    )
    assert paused.returncode == 0, paused.stderr

    entries = await trail(hub)
    acts = [(e["kind"], e["client"], e["person"]) for e in entries]
    assert acts == [
        ("application.refuse", "window-frontend", CLERK),
        ("application.file", "window-frontend", CLERK),
        ("delivery.replay", "duty-operator", "ops.zhao"),
        ("department.pause", "duty-operator", "ops.zhao"),
        ("department.resume", "duty-operator", "ops.zhao"),
        ("department.pause", "cli", "ops.qian"),
    ]
    assert entries[0]["detail"] == {
        "matter": "social_security.card",
        "errors": [{"field": "applicant.id_number", "code": "checksum"}],
    }
    assert entries[2]["application_id"] == application_id
    no_personal_data(entries)
    assert refused["applicant"]["id_number"] not in json.dumps(entries)

    assert [e["kind"] for e in await trail(hub, "actor=ops.zhao&kind=department")] == [
        "department.pause",
        "department.resume",
    ]
    assert [e["kind"] for e in await trail(hub, "kind=delivery.replay")] == ["delivery.replay"]
    since = entries[3]["at"].replace("+", "%2B")
    assert len(await trail(hub, f"since={since}")) == 3
    assert len(await trail(hub, f"until={since}")) == 3
    assert await trail(hub, "actor=nobody") == []


async def test_bad_audit_filters_are_field_problems(hub: HubDriver) -> None:
    """Every bad filter is named; the frontend may not read the trail."""
    response = await hub.get(
        "/api/v1/audit?since=yesterday&limit=0&cursor=x&colour=red", token=OPERATOR
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    fields = {e["field"] for e in (await response.json())["errors"]}
    assert fields == {"query.since", "query.limit", "query.cursor", "query.colour"}
    assert (await hub.get("/api/v1/audit")).status == 403


@pytest.mark.parametrize(
    "actor",
    ["", " ", "a" * 65, "clerk\x85", "clerk\ttab", "line\u2028break"],
)
async def test_a_bad_actor_is_a_400_naming_the_header_and_files_nothing(
    hub: HubDriver, actor: str
) -> None:
    """X-Hub-Actor: 1 to 64 printable characters; anything else is refused before any act."""
    response = await hub.client.post(
        "/api/v1/applications",
        json=CARD_APPLICATION,
        headers={"Authorization": f"Bearer {FRONTEND}", "X-Hub-Actor": actor},
    )
    assert response.status == 400
    problem = await response.json()
    assert problem["errors"][0]["field"] == "header.X-Hub-Actor"
    listed = await hub.get("/api/v1/applications")
    assert (await listed.json())["items"] == []
    assert await trail(hub) == []


async def test_require_actor_makes_the_header_required_of_a_frontends_acts(
    hub_config: HubConfig, store_url: str, aiohttp_client: Any
) -> None:
    """With [api] require_actor, a frontend's filing without X-Hub-Actor is a 400 naming the
    header; with it, it files; reads and operators need none."""
    settings = hub_config.settings
    strict = dataclasses.replace(
        hub_config,
        settings=settings.model_copy(
            update={"api": settings.api.model_copy(update={"require_actor": True})}
        ),
    )
    client = await aiohttp_client(
        create_app(fast(strict), RuntimeOptions(store_url=store_url, dispatch=False))
    )
    hub = HubDriver(client)
    response = await hub.post("/api/v1/applications", json=CARD_APPLICATION)
    assert response.status == 400
    problem = await response.json()
    assert problem["errors"] == [
        {
            "field": "header.X-Hub-Actor",
            "code": "required",
            "message": problem["errors"][0]["message"],
        }
    ]
    assert (await (await hub.get("/api/v1/applications")).json())["items"] == []
    response = await hub.post(
        "/api/v1/applications", json=CARD_APPLICATION, headers=as_clerk(CLERK)
    )
    assert response.status == 202
    response = await hub.post(
        "/api/v1/departments/tax/pause", json={"reason": "drill"}, token=OPERATOR
    )
    assert response.status == 200
    assert [(e["kind"], e["person"]) for e in await trail(hub)] == [
        ("application.file", CLERK),
        ("department.pause", None),
    ]
