"""Time limits in working days: the calendar of holidays and make-up workdays, and due dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
from pydantic import BaseModel, ConfigDict

from hub.model.configfiles import ConfigError, ConfigProblem, problems_from_pydantic, read_toml


class CalendarFile(BaseModel):
    """config/calendar.toml: the public holidays and the weekend days worked instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class Calendar:
    """Which days are working days: Monday to Friday, less holidays, plus make-up workdays."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """A make-up workday works; a holiday does not; otherwise Monday to Friday do."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day on which `days` working days after `start` have passed (start not counted).

        A limit of N working days "from acceptance" ends on the N-th working day after the day
        the application was accepted.
        """
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
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
    """The calendar file, or weekends alone when the deployment has none."""
    if not path.exists():
        return Calendar()
    try:
        data = CalendarFile.model_validate(read_toml(path))
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_pydantic(path, exc)) from exc
    overlap = sorted(set(data.holidays) & set(data.workdays))
    if overlap:
        days = ", ".join(d.isoformat() for d in overlap)
        raise ConfigError([ConfigProblem(path, "workdays", f"{days} also listed as holidays")])
    return Calendar(frozenset(data.holidays), frozenset(data.workdays))


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
