"""Reading query parameters: each bad one is a field-level problem at `query.<name>`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from aiohttp import web

from hub.model.problems import Problem, ValidationProblem


class Query:
    """A request's query parameters, checked one by one; `done()` raises every problem at once."""

    def __init__(self, request: web.Request, known: Iterable[str]) -> None:
        self.params = request.query
        self.problems: list[Problem] = [
            Problem(f"query.{name}", "unknown_field", "not a parameter of this route")
            for name in self.params
            if name not in set(known)
        ]

    def text(self, name: str, *, choices: Iterable[str] | None = None) -> str | None:
        """An optional text parameter, one of `choices` if given."""
        value = self.params.get(name)
        if value is not None and choices is not None and value not in set(choices):
            allowed = ", ".join(sorted(choices))
            self.problems.append(Problem(f"query.{name}", "invalid_choice", f"one of: {allowed}"))
            return None
        return value

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        """An optional integer parameter within [low, high]."""
        value = self.params.get(name)
        if value is None:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            self.problems.append(
                Problem(f"query.{name}", "out_of_range", f"a whole number from {low} to {high}")
            )
            return default
        return int(value)

    def moment(self, name: str) -> datetime | None:
        """An optional ISO 8601 time with its offset (a date alone: its midnight, UTC)."""
        value = self.params.get(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or (moment.tzinfo is None and "T" in value):
            self.problems.append(
                Problem(
                    f"query.{name}",
                    "format",
                    "ISO 8601 with an offset, e.g. 2026-11-26T08:00:00+08:00",
                )
            )
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def done(self) -> None:
        """Raise a ValidationProblem if any parameter was wrong."""
        if self.problems:
            raise ValidationProblem(self.problems)
