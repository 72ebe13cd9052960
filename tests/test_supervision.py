"""效能监察: amber and red with the calendar, extensions, suspensions, the list, the hook."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hub import hookimpl
from hub.delivery.supervision import supervise
from hub.model.configuration import HubConfig
from hub.runtime import RuntimeOptions
from hub.store.tables import applications
from simulators.base import SimulatorSettings
from simulators.ledger import DecisionPolicy
from tests.conftest import OPERATOR, HubDriver
from tests.samples import HOUSEHOLD_TRANSFER, ZHANG_WEI_ID, sample

SUPERVISOR = "demo-supervisor-token"


class Recorder:
    """A plugin that remembers every supervision change it is told of."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str, str]] = []

    @hookimpl
    def hub_supervision_changed(self, application: Mapping[str, Any], old: str, new: str) -> None:
        self.changes.append((application["id"], old, new))


@pytest.fixture
def recorder() -> Recorder:
    """The test's plugin."""
    return Recorder()


@pytest.fixture
def hub_options(store_url: str, recorder: Recorder) -> RuntimeOptions:
    """The hub under test, with the recorder plugged in."""
    return RuntimeOptions(store_url=store_url, plugins=(recorder,))


@pytest.fixture
def simulator_settings(
    simulator_settings: dict[str, SimulatorSettings],
) -> dict[str, SimulatorSettings]:
    """Departments that take cases at once and decide them only in an hour: cases stay open."""
    slow = DecisionPolicy(review_after=0, decide_after=3600)
    return {c: s.model_copy(update={"decisions": slow}) for c, s in simulator_settings.items()}


def noon(day: date, config: HubConfig) -> datetime:
    """Noon of a day in the center's zone, as an instant."""
    return datetime.combine(day, time(12), config.clock.zone).astimezone(UTC)


async def test_amber_then_red_with_the_calendar_each_told_once(
    hub: HubDriver, recorder: Recorder
) -> None:
    """Two working days before the promised date the case turns amber, after it red; the hook
    hears each once, the list and the metrics show it, the frontend may not read the list."""
    config = hub.hub.config
    application_id = await hub.submit(HOUSEHOLD_TRANSFER)
    promised = date.fromisoformat((await hub.view(application_id))["due"]["promised"])
    amber_day = config.calendar.warning_from(promised, 2)
    assert config.calendar.working_days_between(amber_day, promised) == 2
    engine, plugins = hub.hub.engine, hub.hub.plugins
    before = amber_day - timedelta(days=1)
    assert await supervise(engine, config, plugins, noon(before, config)) == []
    changed = await supervise(engine, config, plugins, noon(amber_day, config))
    assert [(c.old, c.new) for c in changed] == [("normal", "amber")]
    assert await supervise(engine, config, plugins, noon(promised, config)) == []  # still amber
    view = await hub.view(application_id)
    assert view["due"]["supervision"] == "amber"
    listed = await (await hub.get("/api/v1/supervision?state=amber", token=SUPERVISOR)).json()
    assert [(i["id"], i["supervision"]) for i in listed["items"]] == [(application_id, "amber")]
    metrics = await (await hub.get("/metrics", token=None)).text()
    assert 'hub_applications_supervision{state="amber"} 1.0' in metrics
    late = promised + timedelta(days=1)
    changed = await supervise(engine, config, plugins, noon(late, config))
    assert [(c.old, c.new) for c in changed] == [("amber", "red")]
    # Another process whose clock reads today does not turn it back: the dates did not move.
    assert await supervise(engine, config, plugins, datetime.now(UTC)) == []
    assert recorder.changes == [
        (application_id, "normal", "amber"),
        (application_id, "amber", "red"),
    ]
    red = await (await hub.get("/api/v1/supervision?state=red", token=SUPERVISOR)).json()
    assert [i["id"] for i in red["items"]] == [application_id]
    assert (await (await hub.get("/api/v1/supervision?state=amber", token=OPERATOR)).json())[
        "items"
    ] == []
    assert (await hub.get("/api/v1/supervision")).status == 403  # the window's frontend
    bad = await hub.get("/api/v1/supervision?state=green", token=SUPERVISOR)
    assert bad.status == 422
    assert (await bad.json())["errors"][0]["field"] == "query.state"


async def test_an_extension_moves_the_limits_within_the_matters_maximum(hub: HubDriver) -> None:
    """Household transfer allows 10 working days (art. 42): 4 then 6 pass, 1 more is refused."""
    config = hub.hub.config
    application_id = await hub.submit(HOUSEHOLD_TRANSFER)
    due = (await hub.view(application_id))["due"]
    path = f"/api/v1/applications/{application_id}/extensions"
    forbidden = await hub.post(path, json={"days": 4, "reason": "现场核查"})
    assert forbidden.status == 403
    response = await hub.post(path, json={"days": 4, "reason": "现场核查"}, token=SUPERVISOR)
    assert response.status == 201
    body = await response.json()
    promised = config.calendar.add_working_days(date.fromisoformat(due["promised"]), 4)
    assert body["due"]["promised"] == promised.isoformat()
    assert body["due"]["extension_days"] == 4
    assert body["act"]["by"] == "center-supervisor"
    assert (
        await hub.post(path, json={"days": 6, "reason": "复核"}, token=SUPERVISOR)
    ).status == 201
    beyond = await hub.post(path, json={"days": 1, "reason": "再延"}, token=SUPERVISOR)
    assert beyond.status == 422
    problem = (await beyond.json())["errors"][0]
    assert (problem["field"], problem["code"]) == ("days", "extension_beyond_max")
    assert "extension_days_max" in problem["message"] and "art. 42" in problem["message"]
    view = await hub.view(application_id)
    assert view["due"]["extension_days"] == 10
    expected = config.calendar.add_working_days(date.fromisoformat(due["promised"]), 10)
    assert view["due"]["promised"] == expected.isoformat()
    bad = await hub.post(path, json={"days": "ten", "reason": ""}, token=SUPERVISOR)
    assert bad.status == 422
    assert (await bad.json())["errors"][0]["field"] == "days"
    assert (await hub.view(application_id))["due"] == view["due"]


async def test_a_suspension_stops_the_clock_and_its_days_move_the_limits(hub: HubDriver) -> None:
    """Suspended for a hearing a week ago and resumed now: the limits move on by the working
    days between; a second suspension of a suspended case, and resuming none, are 409."""
    config = hub.hub.config
    application_id = await hub.submit(HOUSEHOLD_TRANSFER)
    due = (await hub.view(application_id))["due"]
    path = f"/api/v1/applications/{application_id}/suspensions"
    bad = await hub.post(path, json={"reason": "lunch"}, token=SUPERVISOR)
    assert bad.status == 422
    assert (await bad.json())["errors"][0]["field"] == "reason"
    response = await hub.post(path, json={"reason": "hearing", "note": "听证会"}, token=SUPERVISOR)
    assert response.status == 201
    assert (await response.json())["due"]["clock"] == "suspended"
    again = await hub.post(path, json={"reason": "inspection"}, token=SUPERVISOR)
    assert again.status == 409
    week_ago = datetime.now(UTC) - timedelta(days=7)
    async with hub.hub.engine.begin() as conn:  # as if suspended a week ago
        await conn.execute(
            update(applications)
            .where(applications.c.id == application_id)
            .values(suspended_at=week_ago)
        )
    resumed = await hub.post(f"{path}/current/resume", token=SUPERVISOR)
    assert resumed.status == 200
    body = await resumed.json()
    moved = config.clock.extend(date.fromisoformat(due["promised"]), week_ago, datetime.now(UTC))
    assert moved > date.fromisoformat(due["promised"])
    assert body["due"]["promised"] == moved.isoformat()
    assert body["due"]["clock"] == "running"
    assert body["act"]["reason"] == "hearing" and body["act"]["ended_at"] is not None
    none = await hub.post(f"{path}/current/resume", token=SUPERVISOR)
    assert none.status == 409


async def test_a_refusal_at_submission_is_decided_and_tracked_in_the_laws_words(
    hub: HubDriver,
) -> None:
    """A taken company name: 不予受理 with its date, reason and the review and litigation notice;
    the steps after it 终止; no personal data; a decided application cannot be suspended."""
    body = sample("business.startup", company_name="示范市星辰科技有限公司")
    receipt = await (await hub.post("/api/v1/applications", json=body)).json()
    await hub.wait_for(receipt["id"], lambda v: v["status"] == "rejected")
    suspended = await hub.post(
        f"/api/v1/applications/{receipt['id']}/suspensions",
        json={"reason": "hearing"},
        token=SUPERVISOR,
    )
    assert suspended.status == 409
    tracked = await hub.get(
        f"/api/v1/track/{receipt['reference']}?code={receipt['query_code']}", token=None
    )
    view = await tracked.json()
    registration, *after = view["steps"]
    assert registration["official"] == {"zh": "不予受理", "en": "not accepted"}
    assert registration["decided_on"] is not None
    refusal = registration["refusal"]
    assert "已被占用" in refusal["reason"]["zh"]
    assert "行政复议" in refusal["remedies"]["zh"] and "六个月" in refusal["remedies"]["zh"]
    assert "administrative review within 60 days" in refusal["remedies"]["en"]
    decided = date.fromisoformat(registration["decided_on"])
    assert refusal["review_by"] == (decided + timedelta(days=60)).isoformat()
    assert registration["due"] is not None  # company registration has its own 3-day limit
    assert [s["official"]["zh"] for s in after] == ["终止"] * 3
    assert all(s["refusal"] is None for s in after)


async def test_the_tracking_view_names_each_step_in_both_languages(hub: HubDriver) -> None:
    """An accepted household transfer: 受理 beside accepted; no personal data in the view."""
    receipt = await (await hub.post("/api/v1/applications", json=HOUSEHOLD_TRANSFER)).json()
    await hub.wait_for(
        receipt["id"], lambda v: v["deliveries"][0]["state"] not in ("waiting", "pending")
    )
    tracked = await hub.get(
        f"/api/v1/track/{receipt['reference']}?code={receipt['query_code']}", token=None
    )
    view = await tracked.json()
    assert view["steps"][0]["official"] == {"zh": "受理", "en": "accepted"}
    assert view["steps"][0]["correction"] is None and view["steps"][0]["refusal"] is None
    assert view["due"]["supervision"] == "normal"
    for personal in (ZHANG_WEI_ID, "张伟", "13800138000", receipt["id"]):
        assert personal not in str(view)
