"""Time limits in working days: the calendar of holidays and make-up workdays, and due dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from hub.model.configfiles import ConfigError, ConfigProblem, problems_from_pydantic, read_toml

# The month from which check-config warns that next year is not covered yet: the State Council
# publishes the next year's arrangement in October or November.
WARN_FROM_MONTH = 11


NATIONAL_CALENDAR = Path(__file__).with_name("calendar.toml")
"""The statutory holidays of the State Council's yearly notices, shipped with the hub: the same
for every center in the country, so a center keeps a calendar.toml of its own only to add a year
before the hub's next release has it (or a local arrangement)."""


def calendar_file(directory: Path) -> Path:
    """The calendar in force: the center's own calendar.toml if it has one, else the national."""
    own = directory / "calendar.toml"
    return own if own.exists() else NATIONAL_CALENDAR


class CalendarFile(BaseModel):
    """A calendar file: the years it covers, their holidays and the weekend days worked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Required: a year with no dates listed proves nothing, so coverage is only ever declared.
    covers: tuple[Annotated[int, Field(strict=True, ge=1949, le=9998)], ...]
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class Calendar:
    """Which days are working days: Monday to Friday, less holidays, plus make-up workdays.

    Only the years in `covered_years` have their holidays listed; in any other year the
    calendar knows the weekends alone, so a count that reaches one is not to be trusted.
    """

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    covered_years: frozenset[int] = field(default_factory=frozenset)
    source: Path | None = None
    """The file it was read from, for messages that name it."""

    def covers(self, day: date) -> bool:
        """Whether the day's year has its holidays and make-up workdays listed."""
        return day.year in self.covered_years

    def covers_between(self, start: date, end: date) -> bool:
        """Whether every day from `start` to `end` (either order, both included) is covered."""
        first, last = min(start, end), max(start, end)
        return all(year in self.covered_years for year in range(first.year, last.year + 1))

    def is_working_day(self, day: date) -> bool:
        """A make-up workday works; a holiday does not; otherwise Monday to Friday do."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day on which `days` working days after `start` have passed (start not counted).

        A limit of N working days "from acceptance" ends on the N-th working day after the day
        the application was accepted. Past the covered years it counts weekends alone:
        `covers_between(start, result)` says whether it did.
        """
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def warning_from(self, due: date, days: int) -> date:
        """The first day from which at most `days` working days are left until `due` (amber)."""
        day, left = due, 0
        while left + self.is_working_day(day) <= days:
            left += self.is_working_day(day)
            day -= timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 if end is not later)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def load_calendar(path: Path) -> Calendar:
    """The calendar file, or weekends alone (covering no year) when the deployment has none."""
    if not path.exists():
        return Calendar()
    try:
        data = CalendarFile.model_validate(read_toml(path))
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_pydantic(path, exc)) from exc
    covered = frozenset(data.covers)
    years = ", ".join(str(y) for y in sorted(covered)) or "none"
    problems = []
    for key, days in (("holidays", data.holidays), ("workdays", data.workdays)):
        for index, day in enumerate(days):
            if day.year not in covered:
                message = (
                    f"{day.isoformat()} is in {day.year}, which `covers` does not list "
                    f"(covers: {years}); add {day.year} to covers once its whole arrangement "
                    "is listed"
                )
                problems.append(ConfigProblem(path, f"{key}[{index}]", message))
    for index, day in enumerate(data.workdays):
        if day.weekday() < 5:  # a make-up workday replaces a weekend day; a weekday is a typo
            message = f"{day.isoformat()} is a {day:%A}: make-up workdays are weekend days"
            problems.append(ConfigProblem(path, f"workdays[{index}]", message))
    overlap = sorted(set(data.holidays) & set(data.workdays))
    if overlap:
        days_text = ", ".join(d.isoformat() for d in overlap)
        problems.append(ConfigProblem(path, "workdays", f"{days_text} also listed as holidays"))
    if problems:
        raise ConfigError(problems)
    return Calendar(frozenset(data.holidays), frozenset(data.workdays), covered, path)


@dataclass(frozen=True, slots=True)
class CoverageCheck:
    """What check-config says of the calendar's years: problems fail it, warnings do not."""

    problems: tuple[ConfigProblem, ...]
    warnings: tuple[ConfigProblem, ...]


def check_coverage(calendar: Calendar, path: Path, today: date) -> CoverageCheck:
    """This year must be covered; from 1 November, a missing next year is a warning."""
    problems, warnings = [], []
    if today.year not in calendar.covered_years:
        problems.append(
            ConfigProblem(
                path,
                "covers",
                f"{today.year} is not covered: time limits counted now would treat its "
                "holidays as working days; add its holidays and make-up workdays from the State "
                f"Council's notice, and {today.year} to covers",
            )
        )
    next_year = today.year + 1
    if today.month >= WARN_FROM_MONTH and next_year not in calendar.covered_years:
        warnings.append(
            ConfigProblem(
                path,
                "covers",
                f"{next_year} is not covered: limits that reach into it are counted with "
                f"weekends alone and flagged beyond_calendar; add {next_year}'s holidays and "
                f"make-up workdays, and {next_year} to covers, once the State Council publishes "
                "them",
            )
        )
    return CoverageCheck(tuple(problems), tuple(warnings))


SUPERVISION_RANK = {"normal": 0, "amber": 1, "red": 2}
"""效能监察's states, in the order a case's clock moves it through them."""


@dataclass(frozen=True)
class Clock:
    """The center's calendar in its time zone: what day it is there, and when limits fall due."""

    calendar: Calendar
    zone: ZoneInfo

    def today(self, now: datetime) -> date:
        """The center's date at an instant."""
        return now.astimezone(self.zone).date()

    def due(self, accepted: datetime, working_days: int) -> date:
        """The last day of a limit of so many working days from an application's acceptance."""
        return self.calendar.add_working_days(self.today(accepted), working_days)

    def extend(self, due: date, stopped: datetime, resumed: datetime) -> date:
        """A due date moved on by the working days the clock stood still."""
        lost = self.calendar.working_days_between(self.today(stopped), self.today(resumed))
        return self.calendar.add_working_days(due, lost) if lost else due

    def supervision(self, due: date, now: datetime, amber_days: int) -> str:
        """效能监察: red past the due date, amber from `amber_days` working days before it."""
        today = self.today(now)
        if today > due:
            return "red"
        return "amber" if today >= self.calendar.warning_from(due, amber_days) else "normal"

    def beyond_calendar(self, accepted: datetime, *dues: date) -> bool:
        """Whether a limit from acceptance to any of the due dates runs past the covered years.

        Every count (the due date itself, a stopped clock's days) lies within that span, so
        inside it the dates are right; outside, holidays were counted as working days.
        """
        start = self.today(accepted)
        return not all(self.calendar.covers_between(start, due) for due in dues)
