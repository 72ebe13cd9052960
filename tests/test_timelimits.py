"""Time limits in working days: weekends, holidays, make-up workdays, a clock that stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from hub.model.timelimits import Calendar, Clock
from hub.store.tables import applications
from tests.conftest import CONFIG, HubDriver
from tests.samples import CARD_APPLICATION, HOUSEHOLD_TRANSFER

SPRING = Calendar(
    holidays=frozenset(date(2026, 2, d) for d in range(15, 24)),
    workdays=frozenset({date(2026, 2, 14), date(2026, 2, 28)}),
)


def test_weekends_are_not_working_days_but_make_up_days_are() -> None:
    """Saturday 14 February 2026 is worked; Monday 16 February is a holiday."""
    assert not SPRING.is_working_day(date(2026, 2, 7))  # a Saturday
    assert SPRING.is_working_day(date(2026, 2, 14))  # the make-up Saturday
    assert not SPRING.is_working_day(date(2026, 2, 16))  # Spring Festival
    assert SPRING.is_working_day(date(2026, 2, 24))


def test_limits_are_counted_in_working_days_after_acceptance() -> None:
    """Three working days from Thursday 12 February: Friday, the make-up Saturday, then 24 Feb."""
    assert SPRING.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert SPRING.add_working_days(date(2026, 11, 26), 3) == date(2026, 12, 1)  # over a weekend
    assert SPRING.working_days_between(date(2026, 2, 12), date(2026, 2, 24)) == 3


def test_a_stopped_clock_moves_the_due_date_by_the_working_days_it_stood() -> None:
    """Stopped on Friday, restarted the next Wednesday: three working days lost, three added."""
    clock = Clock(SPRING, ZoneInfo("Asia/Shanghai"))
    stopped = datetime(2026, 11, 27, 2, tzinfo=UTC)  # Friday morning in Beijing
    resumed = datetime(2026, 12, 2, 2, tzinfo=UTC)  # Wednesday
    assert clock.extend(date(2026, 12, 4), stopped, resumed) == date(2026, 12, 9)
    assert clock.extend(date(2026, 12, 4), stopped, stopped + timedelta(hours=1)) == date(
        2026, 12, 4
    )


def test_the_days_are_the_centers_own() -> None:
    """23:30 UTC is already the next day in Beijing."""
    clock = Clock(Calendar(), ZoneInfo("Asia/Shanghai"))
    assert clock.today(datetime(2026, 11, 26, 23, 30, tzinfo=UTC)) == date(2026, 11, 27)


def test_shipped_calendar_loads() -> None:
    """config/calendar.toml is read: National Day is a holiday, 10 October a make-up day."""
    from hub.model.timelimits import load_calendar

    calendar = load_calendar(CONFIG / "calendar.toml")
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 10, 10))


async def test_receipt_and_view_show_due_dates_and_overdue(hub: HubDriver) -> None:
    """The 202 carries both due dates; an application past its promised date is flagged and
    found by ?overdue=true."""
    response = await hub.post("/api/v1/applications", json=CARD_APPLICATION)
    receipt = await response.json()
    promised = date.fromisoformat(receipt["due"]["promised"])
    statutory = date.fromisoformat(receipt["due"]["statutory"])
    assert date.today() < promised < statutory
    view = await hub.view(receipt["id"])
    assert view["due"] == {
        "statutory": statutory.isoformat(),
        "promised": promised.isoformat(),
        "clock": "running",
        "overdue": False,
        "statutory_overdue": False,
    }
    late = await hub.submit(HOUSEHOLD_TRANSFER)
    async with hub.hub.engine.begin() as conn:  # as if filed weeks ago
        await conn.execute(
            update(applications)
            .where(applications.c.id == late)
            .values(promised_due=date.today() - timedelta(days=1))
        )
    assert (await hub.view(late))["due"]["overdue"] is True
    listed = await (await hub.get("/api/v1/applications?overdue=true")).json()
    assert [a["id"] for a in listed["items"]] == [late]


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2026-11-26T08:00:00"])
async def test_bad_time_filters_are_field_problems(hub: HubDriver, bad: str) -> None:
    """submitted_after must be ISO 8601 with an offset (a date alone means midnight UTC)."""
    response = await hub.get(f"/api/v1/applications?submitted_after={bad}")
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "query.submitted_after"
