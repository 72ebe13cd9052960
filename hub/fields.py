"""Form field rules that a matter declares in its catalog file, and the form's validation."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from hub.identity import (
    normalize_credit_code,
    normalize_phone,
    normalize_text,
    parse_date,
    parse_resident_id,
)
from hub.problems import InvalidValue, Problem, ValidationProblem

FieldType = Literal[
    "string",
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


class FieldRule(BaseModel):
    """One form field: its type, whether it is required, and the limits its value must keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    label: str = ""
    required: bool = False
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
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
    def _choices_for_choice(self) -> Self:
        if (self.type == "choice") != (self.choices is not None):
            raise ValueError("choices must be given for type choice, and only for it")
        return self


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("type", "must be text")
    return normalize_text(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidValue("type", "must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", normalize_text(value)):
        return int(normalize_text(value))
    raise InvalidValue("type", "must be a whole number")


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidValue("type", "must be a number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(normalize_text(value))
        except ValueError:
            pass
        else:
            return int(number) if number.is_integer() else number
    raise InvalidValue("type", "must be a number")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidValue("type", "must be true or false")


def _textual(func: Callable[[str], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise InvalidValue("type", "must be text")
        return func(value)

    return convert


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _text,
    "text": _text,
    "address": _text,
    "choice": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _textual(lambda v: parse_date(v).isoformat()),
    "phone": _textual(normalize_phone),
    "resident_id": _textual(lambda v: parse_resident_id(v).number),
    "credit_code": _textual(normalize_credit_code),
}


def _check(rule: FieldRule, value: Any) -> Any:
    """The normalized value, or InvalidValue for the first rule it breaks."""
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


def validate_form(
    rules: Mapping[str, FieldRule], form: Mapping[str, Any], *, prefix: str = "form"
) -> dict[str, Any]:
    """The normalized form, or a ValidationProblem with every problem of every field at once."""
    problems: list[Problem] = []
    normalized: dict[str, Any] = {}
    for name in form:
        if name not in rules:
            problems.append(
                Problem(f"{prefix}.{name}", "unknown_field", "not a field of this matter")
            )
    for name, rule in rules.items():
        value = form.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
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
