"""The unified application record: one shape for every matter, normalized at the window."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal, TypeVar, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError, core_schema

from hub.model.documents import (
    DOCUMENT_KINDS,
    Document,
    DocumentType,
    Origin,
    Sex,
    normalize_country,
    origin_of,
    parse_document,
)
from hub.model.identity import (
    normalize_credit_code,
    normalize_phone,
    normalize_text,
    parse_date,
)
from hub.model.problems import InvalidValue, Problem, ValidationProblem
from hub.model.text import legal_text, person_name, unsafe_characters

SCHEMA_VERSION: Literal[1] = 1

# The document types and their rules are in hub.model.documents; this name is kept for callers.
IdType = DocumentType

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
    """Someone identified by an ID document, its number verified by the document type's rules.

    Nationality, birth date and sex are derived from numbers that carry them (values sent along
    are replaced, not trusted) and required where the document says nothing of them. Each is a
    field validator, not a model one: pydantic skips model validators once any field has failed,
    and every problem must be reported at once. Fields are validated in the order declared, so
    id_type and id_number are in info.data for the later ones whenever they are valid.
    """

    name: PersonName
    id_type: DocumentType = "resident_id"
    id_number: IdNumber
    nationality: Annotated[
        str | None, Field(max_length=40), pydantic.BeforeValidator(_blank_to_none)
    ] = Field(default=None, validate_default=True)
    birth_date: Annotated[date | None, pydantic.BeforeValidator(_date_shapes)] = Field(
        default=None, validate_default=True
    )
    sex: Annotated[Sex | None, pydantic.BeforeValidator(_blank_to_none)] = Field(
        default=None, validate_default=True
    )

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str, info: ValidationInfo) -> str:
        id_type: DocumentType | None = info.data.get("id_type")
        if id_type is None:
            # The id_type problem is reported; without a type there are no rules to apply.
            return normalize_text(value)
        return _checked(lambda v: parse_document(id_type, v).number)(value)

    @field_validator("nationality")
    @classmethod
    def _nationality(cls, value: str | None, info: ValidationInfo) -> str | None:
        given = None if value is None else _checked(normalize_country)(value)
        id_type, document = _document(info)
        if document is not None and document.nationality is not None:
            return document.nationality
        if id_type is not None and DOCUMENT_KINDS[id_type].nationality == "required" and not given:
            raise PydanticCustomError(
                "nationality_required",
                "a passport holder's nationality is required: its ISO 3166-1 alpha-3 code,"
                " like USA or CHN",
            )
        return given

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        id_type, document = _document(info)
        if document is not None and document.birth_date is not None:
            return document.birth_date
        if value is None and _says_nothing(id_type, document):
            raise PydanticCustomError(
                "required", "this document does not carry the birth date: send birth_date"
            )
        if value is not None and value > date.today():
            raise PydanticCustomError("invalid_date", "the birth date is in the future")
        return value

    @field_validator("sex")
    @classmethod
    def _sex(cls, value: Sex | None, info: ValidationInfo) -> Sex | None:
        id_type, document = _document(info)
        if document is not None and document.sex is not None:
            return document.sex
        if value is None and _says_nothing(id_type, document):
            raise PydanticCustomError(
                "required", "this document does not carry the sex: send sex, male or female"
            )
        return value


def _document(info: ValidationInfo) -> tuple[DocumentType | None, Document | None]:
    """The holder's document type and its parsed number, each None if it was not valid."""
    id_type: DocumentType | None = info.data.get("id_type")
    number: str | None = info.data.get("id_number")
    if id_type is None or number is None:
        return id_type, None
    try:
        return id_type, parse_document(id_type, number)
    except InvalidValue:
        return id_type, None  # the id_number problem is already reported


def _says_nothing(id_type: DocumentType | None, document: Document | None) -> bool:
    """Whether the document is one whose number says nothing of its holder's birth and sex."""
    if document is not None:
        return document.birth_date is None
    # Without a valid number, only the types that never carry them are known to need them.
    return id_type is not None and not DOCUMENT_KINDS[id_type].encodes_holder


class Person(_Identified):
    """A citizen or a foreigner applying for themselves."""

    kind: Literal["person"] = "person"
    phone: OptionalPhone = None
    address: OptionalAddress = None


class LegalRepresentative(_Identified):
    """The person who signs for an organization."""

    phone: OptionalPhone = None


# An investor's contribution to the registered capital, in 10,000 yuan as the form's capital is.
Contribution = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class PersonInvestor(_Identified):
    """A natural person investing in the company: identified like a legal representative."""

    kind: Literal["person"] = "person"
    contribution: Contribution

    @property
    def origin(self) -> Origin:
        """Mainland, Hong Kong/Macao/Taiwan or foreign, from the holder's nationality."""
        return origin_of(self.nationality)


class OrganizationInvestor(_Model):
    """A company or other organization investing; a mainland one is known by its credit code."""

    kind: Literal["organization"] = "organization"
    name: Name
    # Where it is registered: ISO 3166-1 alpha-3, HKG, MAC and TWN for the three regions.
    country: Annotated[str, Field(max_length=40)]
    credit_code: Annotated[
        str | None, Field(max_length=40), pydantic.BeforeValidator(_blank_to_none)
    ] = None
    # Its number in its own country's register, for one registered outside the mainland.
    registration_number: Annotated[
        str | None, Field(max_length=40), pydantic.BeforeValidator(_blank_to_none)
    ] = None
    contribution: Contribution

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return _checked(normalize_country)(value)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("country") == "CHN":
                raise PydanticCustomError(
                    "required", "a mainland organization invests under its credit code"
                )
            return None
        return _checked(normalize_credit_code)(value)

    @property
    def origin(self) -> Origin:
        """Mainland, Hong Kong/Macao/Taiwan or foreign, from where it is registered."""
        return origin_of(self.country)


Investor = Annotated[PersonInvestor | OrganizationInvestor, Field(discriminator="kind")]


class Organization(_Model):
    """A company or other organization; a company being founded has no credit code yet."""

    kind: Literal["organization"] = "organization"
    name: Name
    credit_code: Annotated[
        str | None, Field(max_length=40), pydantic.BeforeValidator(_blank_to_none)
    ] = None
    legal_representative: LegalRepresentative
    address: OptionalAddress = None
    investors: list[Investor] = Field(default=[], max_length=50)

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_credit_code)(value)

    @property
    def foreign_investment(self) -> Origin:
        """The company's foreign-investment attribute, derived from its investors (Foreign
        Investment Law art. 2): foreign if any investor is, else Hong Kong/Macao/Taiwan if any
        is, else mainland (not foreign-invested)."""
        origins = {investor.origin for investor in self.investors}
        if "foreign" in origins:
            return "foreign"
        return "hk_macao_taiwan" if "hk_macao_taiwan" in origins else "mainland"

    @property
    def with_mainland_investors(self) -> bool:
        """Whether mainland investors take part (a joint venture rather than wholly owned)."""
        return any(investor.origin == "mainland" for investor in self.investors)


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
    # pydantic puts the tag of a discriminated union into the location (applicant.person.name,
    # applicant.investors.0.person.name), but the frontend knows the field as applicant.name: the
    # tag is a value, not a field. The unions are the applicant and each investor of a list.
    kept = [
        part
        for i, part in enumerate(parts)
        if not (i and part in _TAGS and (parts[i - 1] == "applicant" or parts[i - 1].isdigit()))
    ]
    return ".".join(p for p in (prefix, *kept) if p)


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
