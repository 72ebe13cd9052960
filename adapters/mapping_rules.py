"""Declarative mappings for config-only adapters: from the record to a request, and from an
answer to a receipt or a status — field paths, constants, date formats and code tables."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from hub.model.phones import e164_phone, national_phone
from hub.plugin.adapter import DepartmentState, PermanentError

# What a request field may read: the record's parts, earlier steps' outputs, the delivery.
SOURCES = frozenset(
    {
        "applicant",
        "form",
        "matter",
        "inputs",
        "delivery_key",
        "application_id",
        "reference",
        "previous_reference",
        "correction",
    }
)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Rule):
    """Where one field of a request comes from, and how it is written."""

    path: str | None = Field(
        default=None, description="e.g. applicant.id_number, form.move_date, inputs.credit_code"
    )
    value: str | int | float | bool | None = Field(
        default=None, description="a constant instead of a path"
    )
    date_format: str | None = Field(default=None, description="strftime for a date, e.g. %Y%m%d")
    table: dict[str, str] | None = Field(
        default=None, description="the department's code for each value"
    )
    strip_prefix: str | None = Field(default=None, description="a prefix to take off a value")
    phone: Literal["e164", "national"] | None = Field(
        default=None,
        description="a phone as E.164 without extension, or as dialled within China"
        " (13800138000, 057188888888 with its trunk 0, 00… for foreign numbers)",
    )
    required: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.path is None) == (self.value is None):
            raise ValueError("give either path or value")
        if self.path is not None and self.path.split(".", 1)[0] not in SOURCES:
            raise ValueError(f"path must start with one of {', '.join(sorted(SOURCES))}")
        if self.strip_prefix is not None and self.strip_prefix.startswith("+"):
            # Taking +86 off a landline leaves 57188888888: its trunk 0 is lost.
            raise ValueError(
                "strip_prefix cannot turn a phone national (a landline would lose its leading 0):"
                ' write phone = "national"'
            )
        return self

    def read(self, scope: Mapping[str, Any]) -> Any:
        """The field's value from the scope, written the department's way."""
        if self.path is None:
            return self.value
        value = dig(scope, self.path)
        if value is None or value == "":
            if self.required:
                raise PermanentError("mapping_missing", f"the record has no {self.path}")
            return None
        if self.date_format:
            value = date.fromisoformat(str(value)).strftime(self.date_format)
        if self.phone is not None and isinstance(value, str):
            value = national_phone(value) if self.phone == "national" else e164_phone(value)
        if self.strip_prefix and isinstance(value, str):
            value = value.removeprefix(self.strip_prefix)
        if self.table is not None:
            if str(value) not in self.table:
                raise PermanentError(
                    "mapping_missing", f"{self.path}={value!r} has no code in the table"
                )
            value = self.table[str(value)]
        return value


def _leaf(item: Any) -> bool:
    return isinstance(item, Mapping) and ("path" in item or "value" in item)


def parse_body(raw: Any, at: str = "") -> dict[str, Any]:
    """A request body's rules: a table with `path` or `value` is a field, any other table an
    object of fields. Raises ValueError naming every bad field by its dotted name."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{at or 'body'}: a table of fields")
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for name, item in raw.items():
        where = f"{at}.{name}" if at else str(name)
        try:
            if _leaf(item):
                parsed[name] = Source.model_validate(item)
            else:
                parsed[name] = parse_body(item, where)
        except pydantic.ValidationError as exc:
            problems += [
                f"{where}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors(include_url=False)
            ]
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return parsed


Body = Annotated[dict[str, Any], BeforeValidator(parse_body)]
"""Field rules by name; objects nest."""


def build(body: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, Any]:
    """A request body (objects may nest) from its field rules; empty optional fields left out."""
    built: dict[str, Any] = {}
    for name, rule in body.items():
        value = rule.read(scope) if isinstance(rule, Source) else build(rule, scope)
        if value is not None:
            built[name] = value
    return built


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (list items by number), or None where the path ends early."""
    for part in path.split("."):
        if data is None:
            return None
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list):
            data = data[int(part)] if part.isdigit() and int(part) < len(data) else None
        else:  # an object, such as zeep's reading of a SOAP answer
            data = getattr(data, part, None)
    return data


class Call(_Rule):
    """One HTTP call: method, path (with {reference} or {delivery_key}), body format and fields."""

    method: Literal["GET", "POST", "PUT"] = "POST"
    path: str = Field(pattern=r"^/")
    format: Literal["json", "form"] = "json"
    body: Body = {}


class Answer(_Rule):
    """How a department says yes, busy or no inside its answer, for systems that answer 200."""

    code: str = Field(description="path of the result code in the answer, e.g. code or ret")
    ok: list[str] = Field(min_length=1, description="codes that mean success, e.g. ['0000']")
    transient: list[str] = Field(
        default=[], description="codes worth retrying; * matches, e.g. E9*"
    )
    message: str | None = Field(default=None, description="path of the message, e.g. msg")

    def verdict(self, answer: Any) -> tuple[str, str] | None:
        """None for success, else (code, message) of a refusal or a busy answer."""
        code = str(dig(answer, self.code))
        if code in self.ok:
            return None
        return code, str(dig(answer, self.message) or "") if self.message else ""

    def is_transient(self, code: str) -> bool:
        """Whether a code means "try later"."""
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in self.transient)


class Operation(Call):
    """One operation steps may ask for: the call, and where the receipt is in the answer."""

    reference: str = Field(description="path of the department's reference number in the answer")
    outputs: dict[str, str] = Field(default={}, description="output name → path in the answer")


class Status(Call):
    """How to ask for a decision, and the department's codes in the hub's vocabulary."""

    method: Literal["GET", "POST", "PUT"] = "GET"
    state: str = Field(description="path of the status code in the answer")
    message: str | None = None
    states: dict[str, DepartmentState] = Field(
        min_length=1, description="department code → hub state"
    )

    @field_validator("states")
    @classmethod
    def _decided(cls, value: dict[str, DepartmentState]) -> dict[str, DepartmentState]:
        if DepartmentState.APPROVED not in value.values():
            raise ValueError("map at least one department code to approved")
        return value


class Lookup(Call):
    """How to find an earlier filing by delivery key (for systems that do not deduplicate)."""

    method: Literal["GET", "POST", "PUT"] = "GET"
    reference: str = Field(
        description="path of the reference in the answer; absent means not found"
    )
