"""The unified application record: one shape for every matter, normalized at the window."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal, Self, TypeVar, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError, core_schema

from hub.model.identity import (
    normalize_credit_code,
    normalize_phone,
    normalize_text,
    parse_date,
    parse_resident_id,
)
from hub.model.problems import InvalidValue, Problem, ValidationProblem
from hub.model.text import legal_text, person_name, unsafe_characters

SCHEMA_VERSION: Literal[1] = 1

IdType = Literal[
    "resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_residence"
]

# Passports, permits and residence cards: letters and digits only, with room for every format.
_OTHER_ID = re.compile(r"[A-Z0-9]{5,30}", re.ASCII)

_T = TypeVar("_T")


def _checked(func: Callable[[str], _T]) -> Callable[[str], _T]:
    """Run a normalizer, turning its InvalidValue into an error pydantic collects with the rest."""

    def check(value: str) -> _T:
        try:
            return func(value)
        except InvalidValue as exc:
            raise PydanticCustomError(exc.code, exc.message) from None

    return check


def _required(func: Callable[[str], str]) -> Callable[[str], str]:
    """A text normalizer whose result must not be empty."""

    def check(value: str) -> str:
        text = func(value)
        if not text:
            raise InvalidValue("required", "must not be empty")
        return text

    return check


def _blank_to_none(value: Any) -> Any:
    # An optional field left empty in the window's form arrives as "": it means "not given",
    # as it does for the form's own fields.
    if isinstance(value, str) and not normalize_text(value):
        return None
    return value


def _date_shapes(value: Any) -> Any:
    return _checked(parse_date)(value) if isinstance(value, str) else value


# The length limits apply to the text as sent, so no oversized input is normalized first.
# An organization's name and an address are legal text: kept as filed, （） and ； included.
Name = Annotated[
    str, Field(max_length=100), pydantic.AfterValidator(_checked(_required(legal_text)))
]
PersonName = Annotated[
    str, Field(max_length=100), pydantic.AfterValidator(_checked(_required(person_name)))
]
"""A person's name (applicant, legal representative, agent, investor): separators unified."""
Address = Annotated[
    str, Field(max_length=200), pydantic.AfterValidator(_checked(_required(legal_text)))
]
Phone = Annotated[str, Field(max_length=40), pydantic.AfterValidator(_checked(normalize_phone))]
IdNumber = Annotated[str, Field(max_length=40)]
OptionalAddress = Annotated[Address | None, pydantic.BeforeValidator(_blank_to_none)]
OptionalPhone = Annotated[Phone | None, pydantic.BeforeValidator(_blank_to_none)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Identified(_Model):
    """Someone identified by an ID document; resident ID numbers are verified and normalized."""

    name: PersonName
    id_type: IdType = "resident_id"
    id_number: IdNumber

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str, info: ValidationInfo) -> str:
        # A field validator, not a model one: pydantic skips model validators once any field
        # has failed, and every problem must be reported at once. id_type is declared first,
        # so it is in info.data here when it is valid (its default included).
        if info.data.get("id_type") == "resident_id":
            return _checked(parse_resident_id)(value).number
        text = normalize_text(value).replace(" ", "").upper()
        if not _OTHER_ID.fullmatch(text):
            raise PydanticCustomError("format", "an ID number has 5 to 30 letters and digits")
        return text


class Person(_Identified):
    """A citizen applying for themselves."""

    kind: Literal["person"] = "person"
    phone: OptionalPhone = None
    address: OptionalAddress = None
    birth_date: Annotated[date | None, pydantic.BeforeValidator(_date_shapes)] = None
    sex: Literal["male", "female"] | None = None

    @model_validator(mode="after")
    def _derive(self) -> Self:
        if self.id_type == "resident_id":
            # Derived from the number; values sent along are replaced, not trusted. Other
            # documents say nothing readable about their holder, so what was sent is kept.
            parsed = parse_resident_id(self.id_number)
            self.birth_date, self.sex = parsed.birth_date, parsed.sex
        return self


class LegalRepresentative(_Identified):
    """The person who signs for an organization."""

    phone: OptionalPhone = None


class Organization(_Model):
    """A company or other organization; a company being founded has no credit code yet."""

    kind: Literal["organization"] = "organization"
    name: Name
    credit_code: Annotated[
        str | None, Field(max_length=40), pydantic.BeforeValidator(_blank_to_none)
    ] = None
    legal_representative: LegalRepresentative
    address: OptionalAddress = None

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_credit_code)(value)


Applicant = Annotated[Person | Organization, Field(discriminator="kind")]


class ApplicationRecord(_Model):
    """One filing by one applicant for one matter, in the hub's one shape."""

    schema_version: Literal[1] = SCHEMA_VERSION
    matter: str = Field(min_length=1, max_length=64)
    applicant: Applicant
    # Kept as given: the matter's field rules (hub.fields) check and normalize the form.
    form: dict[str, Any] = {}


# pydantic's own error types mapped to the hub's problem codes. Any other built-in type is a
# "type" problem when its name says so and "invalid" otherwise; custom errors keep their code.
_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "union_tag_invalid": "invalid_choice",
    "union_tag_not_found": "required",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "string_pattern_mismatch": "pattern",
    "greater_than": "too_small",
    "greater_than_equal": "too_small",
    "less_than": "too_large",
    "less_than_equal": "too_large",
}
_BUILT_IN = frozenset(get_args(core_schema.ErrorType))
_MESSAGES = {
    "missing": "this field is required",
    "extra_forbidden": "not a field of the record",
}
_TAGS = frozenset(get_args(Person.model_fields["kind"].annotation)) | frozenset(
    get_args(Organization.model_fields["kind"].annotation)
)


def _code(kind: str) -> str:
    if kind in _CODES:
        return _CODES[kind]
    if kind not in _BUILT_IN:
        return kind
    return "type" if kind.endswith(("_type", "_parsing")) else "invalid"


def _path(loc: Sequence[int | str], prefix: str) -> str:
    parts = [str(p) for p in loc]
    # pydantic puts the tag of a discriminated union into the location (applicant.person.name),
    # but the frontend knows the field as applicant.name: the tag is a value, not a field.
    if len(parts) > 1 and parts[0] == "applicant" and parts[1] in _TAGS:
        del parts[1]
    return ".".join(p for p in (prefix, *parts) if p)


def problems_from_validation_error(
    exc: pydantic.ValidationError, prefix: str = ""
) -> list[Problem]:
    """Every error of a pydantic validation as a field-level Problem."""
    problems = []
    for error in exc.errors(include_url=False):
        kind = error["type"]
        loc: tuple[int | str, ...] = tuple(error["loc"])
        message = _MESSAGES.get(kind, error["msg"])
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            # The problem is the tag field itself (applicant.kind), so the path names it.
            loc = (*loc, str(error.get("ctx", {}).get("discriminator", "kind")).strip("'"))
            message = (
                "must be one of: " + ", ".join(sorted(_TAGS))
                if kind == "union_tag_invalid"
                else "say which kind of applicant: " + " or ".join(sorted(_TAGS))
            )
        problems.append(Problem(_path(loc, prefix), _code(kind), message))
    return problems


def parse_record(data: Mapping[str, Any]) -> ApplicationRecord:
    """The normalized record, or a ValidationProblem listing every problem at once.

    A control character or non-character anywhere in the record (the form aside: its field
    rules know which fields may hold line breaks) is refused, never stripped.
    """
    unsafe = unsafe_characters({k: v for k, v in data.items() if k != "form"})
    try:
        record = ApplicationRecord.model_validate(data)
    except pydantic.ValidationError as exc:
        # One problem a field: the unsafe character is the cause of anything else wrong there.
        flagged = {p.field for p in unsafe}
        problems = [p for p in problems_from_validation_error(exc) if p.field not in flagged]
        raise ValidationProblem([*unsafe, *problems]) from None
    if unsafe:
        raise ValidationProblem(unsafe)
    return record
