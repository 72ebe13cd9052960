"""The unified application record: normalized, and every problem reported at once."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pydantic
import pytest

from hub.model.problems import ValidationProblem
from hub.model.record import (
    SCHEMA_VERSION,
    ApplicationRecord,
    LegalRepresentative,
    Organization,
    Person,
    parse_record,
    problems_from_validation_error,
)
from tests.samples import DOMESTIC_STARTUP, HOUSEHOLD_TRANSFER, ZHANG_WEI_ID


def household(**applicant: Any) -> dict[str, Any]:
    """The household transfer sample, applicant fields overridden."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(applicant)
    return data


def startup(**applicant: Any) -> dict[str, Any]:
    """The company start-up sample, applicant fields overridden."""
    data = copy.deepcopy(DOMESTIC_STARTUP)
    data["applicant"].update(applicant)
    return data


def problems(data: dict[str, Any]) -> set[tuple[str, str]]:
    """(field, code) of every problem parse_record reports; every one has a message."""
    with pytest.raises(ValidationProblem) as info:
        parse_record(data)
    assert all(p.message for p in info.value.problems)
    return {(p.field, p.code) for p in info.value.problems}


def test_person_record_is_normalized() -> None:
    """ID, phone and text are normalized (an address is kept as filed); the schema version is 1."""
    record = parse_record(household(name=" 张\u3000 伟 ", address="示范市人民路１２号 "))
    assert record.schema_version == SCHEMA_VERSION == 1
    applicant = record.applicant
    assert isinstance(applicant, Person)
    assert applicant.name == "张伟"
    assert applicant.id_number == ZHANG_WEI_ID
    assert applicant.phone == "+8613800138000"
    assert applicant.address == "示范市人民路１２号"


def test_birth_date_and_sex_are_derived_from_the_resident_id() -> None:
    """The number says when the applicant was born and whether a man or a woman."""
    applicant = parse_record(HOUSEHOLD_TRANSFER).applicant
    assert isinstance(applicant, Person)
    assert (applicant.birth_date, applicant.sex) == (date(1990, 3, 7), "male")
    woman = parse_record(household(id_number="310115851120262")).applicant
    assert isinstance(woman, Person)
    assert (woman.id_number, woman.sex) == ("310115198511202624", "female")


def test_sent_birth_date_and_sex_are_replaced_by_the_numbers() -> None:
    """Values sent along are not trusted over the ID number's."""
    applicant = parse_record(household(birth_date="2001-01-01", sex="female")).applicant
    assert isinstance(applicant, Person)
    assert (applicant.birth_date, applicant.sex) == (date(1990, 3, 7), "male")


def test_form_is_kept_as_given() -> None:
    """The record does not touch the form; the matter's field rules do."""
    record = parse_record(HOUSEHOLD_TRANSFER)
    assert record.form == HOUSEHOLD_TRANSFER["form"]
    assert parse_record({k: v for k, v in HOUSEHOLD_TRANSFER.items() if k != "form"}).form == {}


def test_organization_with_legal_representative_is_normalized() -> None:
    """An organization carries its legal representative, normalized like a person."""
    applicant = parse_record(startup(credit_code="91350100m000100y43")).applicant
    assert isinstance(applicant, Organization)
    assert applicant.credit_code == "91350100M000100Y43"
    assert isinstance(applicant.legal_representative, LegalRepresentative)
    assert applicant.legal_representative.phone == "+8613900139000"
    assert applicant.legal_representative.id_number == "440306197806150031"


@pytest.mark.parametrize("credit_code", [None, "", "  "])
def test_organization_being_founded_has_no_credit_code_yet(credit_code: str | None) -> None:
    """A missing, null or blank credit code is None: the market regulator assigns one."""
    data = startup(credit_code=credit_code) if credit_code is not None else startup()
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Organization)
    assert applicant.credit_code is None


def test_blank_optional_phone_and_address_are_none() -> None:
    """An optional field left empty is not given, rather than an empty-value problem."""
    applicant = parse_record(household(phone="", address=" ")).applicant
    assert isinstance(applicant, Person)
    assert (applicant.phone, applicant.address) == (None, None)


def test_every_problem_is_reported_at_once_with_dotted_paths() -> None:
    """A bad checksum, a bad phone and an unknown field give three problems, not one."""
    data = household(id_number="110105199003074519", phone="12345", nickname="Wei")
    assert problems(data) == {
        ("applicant.id_number", "checksum"),
        ("applicant.phone", "invalid"),
        ("applicant.nickname", "unknown_field"),
    }


def test_problems_across_the_whole_record_are_reported_together() -> None:
    """Top-level, applicant and form problems all come back in one ValidationProblem."""
    data = household(name="", id_number="11010519900307451")
    data.update(matter="", form=["not", "a", "mapping"], channel="web")
    assert problems(data) == {
        ("matter", "too_short"),
        ("applicant.name", "required"),
        ("applicant.id_number", "format"),
        ("form", "type"),
        ("channel", "unknown_field"),
    }


def test_legal_representative_problems_have_nested_paths() -> None:
    """Paths go through the legal representative; the union's tag is not in them."""
    data = startup(credit_code="91350100M000100Y44")
    data["applicant"]["legal_representative"].update(
        id_number="440306197806150032", phone="call me", age=48
    )
    assert problems(data) == {
        ("applicant.legal_representative.id_number", "checksum"),
        ("applicant.legal_representative.phone", "format"),
        ("applicant.legal_representative.age", "unknown_field"),
        ("applicant.credit_code", "checksum"),
    }


def test_missing_legal_representative_is_required() -> None:
    """An organization cannot apply without someone who signs for it."""
    data = startup()
    del data["applicant"]["legal_representative"]
    assert problems(data) == {("applicant.legal_representative", "required")}


def test_discriminator_tag_is_stripped_from_paths() -> None:
    """pydantic's applicant.person.name and applicant.organization.name are applicant.name."""
    person = household()
    del person["applicant"]["name"]
    organization = startup()
    del organization["applicant"]["name"]
    assert problems(person) == {("applicant.name", "required")}
    assert problems(organization) == {("applicant.name", "required")}


def test_missing_applicant_is_required() -> None:
    """A record without an applicant is a required problem at applicant."""
    assert problems({"matter": "household.transfer"}) == {("applicant", "required")}


def test_applicant_kind_must_be_given_and_known() -> None:
    """No kind is required at applicant.kind; an unknown kind is an invalid choice there."""
    data = household()
    del data["applicant"]["kind"]
    assert problems(data) == {("applicant.kind", "required")}
    assert problems(household(kind="robot")) == {("applicant.kind", "invalid_choice")}


@pytest.mark.parametrize("applicant", ["张伟", 42, ["张伟"]])
def test_applicant_that_is_not_an_object_is_a_type_problem(applicant: Any) -> None:
    """An applicant must be a mapping of fields."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"] = applicant
    assert problems(data) == {("applicant", "type")}


def test_empty_name_and_wrong_types_are_problems() -> None:
    """White space is not a name; a number is not a phone; an unknown ID type is no choice."""
    data = household(name="\u3000 ", phone=13800138000, id_type="driving_licence")
    assert problems(data) == {
        ("applicant.name", "required"),
        ("applicant.phone", "type"),
        ("applicant.id_type", "invalid_choice"),
    }


def test_names_and_addresses_are_bounded() -> None:
    """A name of 101 characters or an address of 201 is too long."""
    assert problems(household(name="张" * 101, address="路" * 201)) == {
        ("applicant.name", "too_long"),
        ("applicant.address", "too_long"),
    }


def test_other_schema_versions_are_refused() -> None:
    """Version 1 is the only shape this hub reads."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["schema_version"] = 2
    assert problems(data) == {("schema_version", "invalid_choice")}


def foreigner(**applicant: Any) -> dict[str, Any]:
    """The household sample for a passport holder, with what a passport does not say."""
    fields = {"id_type": "passport", "id_number": "E12345678", "nationality": "USA"}
    return household(**{**fields, "sex": "male", "birth_date": "1990-01-01", **applicant})


def test_passport_numbers_are_normalized_in_shape_only() -> None:
    """Passport numbers are upper-cased and compacted, not checksummed, and derive nothing."""
    applicant = parse_record(foreigner(id_number="e 1234 5678")).applicant
    assert isinstance(applicant, Person)
    assert (applicant.id_number, applicant.birth_date, applicant.sex) == (
        "E12345678",
        date(1990, 1, 1),
        "male",
    )


def test_other_documents_keep_a_birth_date_that_was_sent() -> None:
    """With no resident ID to read it from, the birth date sent is kept, in any date shape."""
    data = household(
        id_type="hk_macao_permit", id_number="H12345678", birth_date="1988年6月1日", sex="female"
    )
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Person)
    assert applicant.birth_date == date(1988, 6, 1)
    assert problems(foreigner(birth_date="1988-02-30")) == {
        ("applicant.birth_date", "invalid_date")
    }


@pytest.mark.parametrize("id_number", ["E12", "护照E12345678", "E1234-5678", "E" * 21])
def test_other_document_numbers_of_a_strange_shape_are_a_format_problem(id_number: str) -> None:
    """5 to 20 ASCII letters and digits; Chinese characters and punctuation are refused."""
    assert problems(foreigner(id_number=id_number)) == {("applicant.id_number", "format")}


def test_problems_from_validation_error_prefixes_paths() -> None:
    """A caller validating a record inside something larger gets paths under its prefix."""
    with pytest.raises(pydantic.ValidationError) as info:
        ApplicationRecord.model_validate(household(phone="12345"))
    [problem] = problems_from_validation_error(info.value, prefix="batch.3")
    assert (problem.field, problem.code) == ("batch.3.applicant.phone", "invalid")
    assert problem.message == "not a valid phone number: wrong length or unknown prefix"
