"""Form field rules that a matter declares in its catalog file, and the form's validation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.model.identity import (
    normalize_credit_code,
    normalize_phone,
    normalize_text,
    parse_date,
    parse_resident_id,
)
from hub.model.problems import InvalidValue, Problem, ValidationProblem
from hub.model.text import legal_text, person_name, refuse_unsafe, unsafe_character

FieldType = Literal[
    "string",
    "name",
    "person_name",
    "text",
    "integer",
    "number",
    "boolean",
    "date",
    "phone",
    "resident_id",
    "credit_code",
    "choice",
    "address",
]

# Plain decimal notation only: float() would also take "nan", "inf", "1_000" and "0x1p3".
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII
)
_BOOLEANS = {"true": True, "false": False}


def _inverted(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and low > high


class FieldRule(BaseModel):
    """One form field: its type, whether it is required, and the limits its value must keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    label: str = Field(min_length=1)
    required: bool = False
    # Matched against the whole normalized value, so "[A-Z]{3}" cannot pass "ABCD".
    pattern: str | None = None
    choices: tuple[str, ...] | None = Field(default=None, min_length=1)
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    minimum: float | None = None
    maximum: float | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.type == "choice") != (self.choices is not None):
            raise ValueError("choices must be given for type choice, and only for it")
        if _inverted(self.min_length, self.max_length):
            raise ValueError("min_length is greater than max_length")
        if _inverted(self.minimum, self.maximum):
            raise ValueError("minimum is greater than maximum")
        return self


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("type", "must be text")
    return value


def _text(value: Any) -> str:
    return normalize_text(_string(value))


def _integer(value: Any) -> int:
    # bool is a subclass of int, but true is an answer, not a count.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(text := normalize_text(value)):
        return int(text)
    raise InvalidValue("type", "must be a whole number")


def _number(value: Any) -> int | float:
    number: int | float
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _NUMBER.fullmatch(text := normalize_text(value)):
        number = float(text)
        number = int(number) if number.is_integer() else number
    else:
        raise InvalidValue("type", "must be a number")
    # NaN compares false with every limit and neither it nor infinity is a JSON number.
    if not math.isfinite(number):
        raise InvalidValue("type", "must be a finite number")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and (text := normalize_text(value).lower()) in _BOOLEANS:
        return _BOOLEANS[text]
    raise InvalidValue("type", "must be true or false")


# string and choice are for codes and short answers, NFKC-folded. name (an organization's),
# text and address are legal text, kept as filed; person_name unifies name separators.
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _text,
    "name": lambda v: legal_text(_string(v)),
    "person_name": lambda v: person_name(_string(v)),
    "text": lambda v: legal_text(_string(v), multiline=True),
    "address": lambda v: legal_text(_string(v)),
    "choice": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": lambda v: parse_date(_string(v)).isoformat(),
    "phone": lambda v: normalize_phone(_string(v)),
    "resident_id": lambda v: parse_resident_id(_string(v)).number,
    "credit_code": lambda v: normalize_credit_code(_string(v)),
}


def _check(rule: FieldRule, value: Any) -> Any:
    """The normalized value, or InvalidValue for the first rule it breaks."""
    if isinstance(value, str):
        # Refused before any normalizing, which would count positions differently.
        refuse_unsafe(value, multiline=rule.type == "text")
    value = _CONVERTERS[rule.type](value)
    if isinstance(value, str):
        if rule.min_length is not None and len(value) < rule.min_length:
            raise InvalidValue("too_short", f"must have at least {rule.min_length} characters")
        if rule.max_length is not None and len(value) > rule.max_length:
            raise InvalidValue("too_long", f"must have at most {rule.max_length} characters")
        if rule.pattern is not None and not re.fullmatch(rule.pattern, value):
            raise InvalidValue("pattern", f"does not match the pattern {rule.pattern}")
        if rule.choices is not None and value not in rule.choices:
            raise InvalidValue("invalid_choice", f"must be one of: {', '.join(rule.choices)}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if rule.minimum is not None and value < rule.minimum:
            raise InvalidValue("too_small", f"must be at least {rule.minimum:g}")
        if rule.maximum is not None and value > rule.maximum:
            raise InvalidValue("too_large", f"must be at most {rule.maximum:g}")
    return value


def _blank(value: Any, rule: FieldRule) -> bool:
    if not isinstance(value, str):
        return value is None
    # U+0085 and U+001C–U+001F count as white space: refused, not taken for a blank.
    return (
        not normalize_text(value) and unsafe_character(value, multiline=rule.type == "text") is None
    )


def validate_form(
    rules: Mapping[str, FieldRule], form: Mapping[str, Any], *, prefix: str = "form"
) -> dict[str, Any]:
    """The normalized form, or a ValidationProblem with every problem of every field at once.

    A field left blank (missing, null or only white space) is left out of the normalized form.
    """
    problems = [
        Problem(f"{prefix}.{name}", "unknown_field", "not a field of this matter")
        for name in form
        if name not in rules
    ]
    normalized: dict[str, Any] = {}
    for name, rule in rules.items():
        value = form.get(name)
        if _blank(value, rule):
            if rule.required:
                problems.append(Problem(f"{prefix}.{name}", "required", "this field is required"))
            continue
        try:
            normalized[name] = _check(rule, value)
        except InvalidValue as exc:
            problems.append(exc.at(f"{prefix}.{name}"))
    if problems:
        raise ValidationProblem(problems)
    return normalized
