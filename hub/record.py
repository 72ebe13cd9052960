"""The unified application record: one shape for every matter, normalized at the window."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from hub.identity import normalize_credit_code, normalize_phone, normalize_text, parse_resident_id
from hub.problems import InvalidValue, Problem, ValidationProblem

SCHEMA_VERSION: Literal[1] = 1

IdType = Literal[
    "resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_residence"
]


def _checked(func: Callable[[str], str]) -> Callable[[str], str]:
    """Run a normalizer, turning its InvalidValue into an error pydantic collects with the rest."""

    def check(value: str) -> str:
        try:
            return func(value)
        except InvalidValue as exc:
            raise PydanticCustomError(exc.code, exc.message) from None

    return check


def _text(value: str) -> str:
    text = normalize_text(value)
    if not text:
        raise InvalidValue("required", "must not be empty")
    return text


Text = Annotated[str, Field(max_length=200), pydantic.AfterValidator(_checked(_text))]
Phone = Annotated[str, pydantic.AfterValidator(_checked(normalize_phone))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Identified(_Model):
    """Someone identified by an ID document; resident ID numbers are verified and normalized."""

    name: Text
    id_type: IdType = "resident_id"
    id_number: str

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str, info: ValidationInfo) -> str:
        # A field validator, not a model one: pydantic skips model validators once any field
        # has failed, and every problem must be reported at once. id_type is declared first,
        # so it is in info.data here when it is valid.
        if info.data.get("id_type") == "resident_id":
            return _checked(lambda v: parse_resident_id(v).number)(value)
        text = normalize_text(value).replace(" ", "").upper()
        if not 5 <= len(text) <= 30 or not text.isalnum():
            raise PydanticCustomError("format", "an ID number has 5 to 30 letters and digits")
        return text


class Person(_Identified):
    """A citizen applying for themselves."""

    kind: Literal["person"] = "person"
    phone: Phone | None = None
    address: Text | None = None
    birth_date: date | None = None
    sex: Literal["male", "female"] | None = None

    @model_validator(mode="after")
    def _derive(self) -> Self:
        if self.id_type == "resident_id":
            # Derived from the number; values sent along are replaced, not trusted.
            parsed = parse_resident_id(self.id_number)
            self.birth_date, self.sex = parsed.birth_date, parsed.sex
        return self


class LegalRepresentative(_Identified):
    """The person who signs for an organization."""

    phone: Phone | None = None


class Organization(_Model):
    """A company or other organization; a company being founded has no credit code yet."""

    kind: Literal["organization"] = "organization"
    name: Text
    credit_code: str | None = None
    legal_representative: LegalRepresentative
    address: Text | None = None

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
    form: dict[str, Any] = {}


# Built-in error types mapped to the hub's problem codes; custom errors keep their own type.
_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "literal_error": "invalid_choice",
    "union_tag_invalid": "invalid_choice",
    "union_tag_not_found": "required",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
}
_TAGS = {"person", "organization"}


def _path(loc: Sequence[int | str], prefix: str) -> str:
    parts = [str(p) for p in loc]
    # pydantic puts the tag of a discriminated union into the location (applicant.person.name);
    # the frontend knows the field as applicant.name, so the tag is taken out.
    if len(parts) > 1 and parts[0] == "applicant" and parts[1] in _TAGS:
        del parts[1]
    path = ".".join(parts)
    return f"{prefix}.{path}" if prefix and path else (prefix or path)


def problems_from_validation_error(
    exc: pydantic.ValidationError, prefix: str = ""
) -> list[Problem]:
    """Every error of a pydantic validation as a field-level Problem."""
    problems = []
    for error in exc.errors(include_url=False):
        kind = error["type"]
        code = _CODES.get(kind, "type" if kind.endswith(("_type", "_parsing")) else kind)
        message = error["msg"]
        if kind == "extra_forbidden":
            message = "not a field of the record"
        elif kind == "missing":
            message = "this field is required"
        problems.append(Problem(_path(error["loc"], prefix), code, message))
    return problems


def parse_record(data: Mapping[str, Any]) -> ApplicationRecord:
    """The normalized record, or a ValidationProblem listing every problem at once."""
    try:
        return ApplicationRecord.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationProblem(problems_from_validation_error(exc)) from None
