"""Time limits in working days: weekends, holidays, make-up workdays, a clock that stops."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import update
from structlog.testing import capture_logs

from hub.api.app import create_app
from hub.model.configfiles import ConfigError
from hub.model.configuration import HubConfig
from hub.model.timelimits import NATIONAL_CALENDAR, Calendar, Clock, check_coverage, load_calendar
from hub.runtime import RuntimeOptions
from hub.store.tables import applications
from tests.conftest import HubDriver
from tests.samples import CARD_APPLICATION, HOUSEHOLD_TRANSFER

THIS_YEAR = date.today().year


@pytest.fixture
def covered_years() -> frozenset[int]:
    """The years the hub's calendar covers in this module's API tests: those around today.

    The shipped file's own years are checked by the tests that load it; the API tests must not
    depend on whether next year's arrangement has been added yet.
    """
    return frozenset(range(THIS_YEAR - 1, THIS_YEAR + 3))


@pytest.fixture
def hub_config(hub_config: HubConfig, covered_years: frozenset[int]) -> HubConfig:
    """The configuration on the simulators, its calendar covering `covered_years`."""
    calendar = dataclasses.replace(hub_config.calendar, covered_years=covered_years)
    return dataclasses.replace(hub_config, calendar=calendar)


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
    """The national calendar is read: National Day is a holiday, 10 October a make-up day."""
    calendar = load_calendar(NATIONAL_CALENDAR)
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 10, 10))
    assert calendar.covers(date(2026, 12, 31)) and not calendar.covers(date(2023, 12, 31))


def test_shipped_calendar_agrees_with_chinesecalendar_on_every_covered_day() -> None:
    """Each day of each covered year is a working day here exactly when chinesecalendar says so.

    chinesecalendar also calls every weekend a holiday, so days are compared, not lists.
    """
    calendar = load_calendar(NATIONAL_CALENDAR)
    assert calendar.covered_years, "the national calendar covers no year"
    disagree = []
    for year in sorted(calendar.covered_years):
        day = date(year, 1, 1)
        while day.year == year:
            try:
                theirs = chinese_calendar.is_workday(day)
            except NotImplementedError:
                # A year added before the package knows it cannot be checked: upgrade the
                # package rather than let a covered year go unverified.
                version = chinese_calendar.__version__
                pytest.fail(f"chinesecalendar {version} has no data for {year}: upgrade it")
            if calendar.is_working_day(day) != theirs:
                disagree.append(day.isoformat())
            day += timedelta(days=1)
    assert disagree == []


def test_coverage_is_declared_per_year_and_spans_are_checked_whole() -> None:
    """A span is covered only when every year in it is, even a year between two covered ones."""
    calendar = Calendar(covered_years=frozenset({2024, 2026}))
    assert calendar.covers(date(2024, 2, 10)) and not calendar.covers(date(2025, 2, 10))
    assert calendar.covers_between(date(2026, 12, 1), date(2026, 12, 31))
    assert not calendar.covers_between(date(2024, 12, 20), date(2026, 1, 10))
    assert not calendar.covers_between(date(2026, 12, 20), date(2027, 1, 10))
    # Past coverage the count goes on with weekends alone, and says so through covers_between.
    start = date(2026, 12, 29)
    due = calendar.add_working_days(start, 3)
    assert due == date(2027, 1, 1)
    assert not calendar.covers_between(start, due)


def test_a_clock_tells_a_limit_that_runs_past_the_calendar() -> None:
    """Accepted in a covered year, due in the next one that is not: beyond the calendar."""
    clock = Clock(Calendar(covered_years=frozenset({2026})), ZoneInfo("Asia/Shanghai"))
    accepted = datetime(2026, 12, 4, 2, tzinfo=UTC)
    assert not clock.beyond_calendar(accepted, date(2026, 12, 31), date(2026, 12, 10))
    assert clock.beyond_calendar(accepted, date(2027, 1, 4), date(2026, 12, 10))
    # 16:30 UTC on 31 December is already 2027 in Beijing, where the count starts.
    assert clock.beyond_calendar(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), date(2027, 1, 4))


CALENDAR_2026 = Calendar(frozenset({date(2026, 10, 1)}), covered_years=frozenset({2026}))


def test_check_coverage_fails_when_this_year_is_not_covered(tmp_path: Path) -> None:
    """On 2 January 2027 a calendar of 2026 alone is a problem at `covers`, naming the year."""
    path = tmp_path / "calendar.toml"
    check = check_coverage(CALENDAR_2026, path, date(2027, 1, 2))
    assert [(p.file, p.key) for p in check.problems] == [(path, "covers")]
    assert "2027 is not covered" in check.problems[0].message
    assert check.warnings == ()
    # A missing calendar file covers no year at all.
    assert check_coverage(Calendar(), path, date(2026, 6, 1)).problems != ()


def test_check_coverage_warns_from_1_november_about_next_year(tmp_path: Path) -> None:
    """31 October: nothing to say; 1 November and December: next year missing is a warning."""
    path = tmp_path / "calendar.toml"
    assert check_coverage(CALENDAR_2026, path, date(2026, 10, 31)) == check_coverage(
        CALENDAR_2026, path, date(2026, 3, 1)
    )
    assert check_coverage(CALENDAR_2026, path, date(2026, 10, 31)).warnings == ()
    for today in (date(2026, 11, 1), date(2026, 12, 31)):
        check = check_coverage(CALENDAR_2026, path, today)
        assert check.problems == ()
        assert [(w.file, w.key) for w in check.warnings] == [(path, "covers")]
        assert "2027 is not covered" in check.warnings[0].message
    both = dataclasses.replace(CALENDAR_2026, covered_years=frozenset({2026, 2027}))
    check = check_coverage(both, path, date(2026, 12, 4))
    assert check.problems == () and check.warnings == ()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("holidays = [2026-10-01]\n", "covers: required key is missing"),
        (
            "covers = [2026]\nholidays = [2026-10-01, 2027-01-01]\n",
            "holidays[1]: 2027-01-01 is in 2027, which `covers` does not list (covers: 2026)",
        ),
        (
            "covers = [2026]\nworkdays = [2025-12-27]\n",
            "workdays[0]: 2025-12-27 is in 2025, which `covers` does not list",
        ),
        (
            "covers = [2026]\nworkdays = [2026-10-12]\n",
            "workdays[0]: 2026-10-12 is a Monday: make-up workdays are weekend days",
        ),
        ("covers = [20026]\n", "covers[0]: Input should be less than or equal to 9998"),
        ("covers = ['2026']\n", "covers[0]: Input should be a valid integer"),
    ],
)
def test_bad_calendar_files_are_named_by_file_and_key(
    tmp_path: Path, text: str, where: str
) -> None:
    """A date outside the covered years, a weekday make-up day, a bad year: file, key, why."""
    path = tmp_path / "calendar.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_calendar(path)
    assert any(str(p).startswith(f"{path}: {where}") for p in caught.value.problems), str(
        caught.value
    )


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
        "beyond_calendar": False,
        "supervision": "normal",
        "extension_days": 0,
    }
    assert receipt["due"]["beyond_calendar"] is False
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


@pytest.mark.parametrize("covered_years", [frozenset({THIS_YEAR - 1})])
async def test_due_dates_beyond_the_calendar_are_flagged(hub: HubDriver) -> None:
    """With last year's calendar alone, receipt, view and tracking all flag the due dates."""
    response = await hub.post("/api/v1/applications", json=CARD_APPLICATION)
    assert response.status == 202
    receipt = await response.json()
    assert receipt["due"]["beyond_calendar"] is True
    view = await hub.view(receipt["id"])
    assert view["due"]["beyond_calendar"] is True
    assert view["due"]["promised"] == receipt["due"]["promised"]
    reference, code = receipt["reference"], receipt["query_code"]
    tracked = await hub.get(f"/api/v1/track/{reference}?code={code}", token=None)
    assert (await tracked.json())["due"]["beyond_calendar"] is True


@pytest.mark.parametrize("covered_years", [frozenset({THIS_YEAR - 1})])
async def test_a_hub_whose_calendar_is_out_of_date_starts_and_says_so(
    hub_config: HubConfig, hub_options: RuntimeOptions, aiohttp_client: Any
) -> None:
    """The window keeps working on 1 January; the log names the file, `covers` and the year."""
    with capture_logs() as logs:
        client = await aiohttp_client(create_app(hub_config, hub_options))
    assert (await client.get("/healthz")).status == 200
    year = hub_config.clock.today(datetime.now(UTC)).year
    gaps = [e["problem"] for e in logs if e["event"] == "calendar.not_covered"]
    assert any(f"calendar.toml: covers: {year} is not covered" in gap for gap in gaps), logs
