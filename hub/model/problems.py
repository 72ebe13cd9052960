"""Field-level problems: how every bad input is reported, all at once, never only the first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one field: its dotted path, a machine code and a sentence for people."""

    field: str
    code: str
    message: str
    # The applicant's own language beside the English one, where the hub tells the applicant
    # (acceptance); technical problems are for the frontend's developers and stay English.
    message_zh: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The problem as the API and the CLI show it (message_zh only when there is one)."""
        shown = {"field": self.field, "code": self.code, "message": self.message}
        if self.message_zh is not None:
            shown["message_zh"] = self.message_zh
        return shown


class ValidationProblem(Exception):
    """Raised with every problem found in one input; the input changes nothing."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ValidationProblem needs at least one problem")
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))

    @classmethod
    def single(cls, field: str, code: str, message: str) -> ValidationProblem:
        """A ValidationProblem holding one problem, for hooks that check one thing."""
        return cls([Problem(field, code, message)])


class InvalidValue(ValueError):
    """One value broke one rule; whoever knows the field's path turns it into a Problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def at(self, field: str) -> Problem:
        """This failure as a Problem at the given field path."""
        return Problem(field, self.code, self.message)
