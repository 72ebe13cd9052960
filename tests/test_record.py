"""The unified application record: normalized, and every problem reported at once."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from hub.problems import ValidationProblem
from hub.record import SCHEMA_VERSION, Organization, Person, parse_record
from tests.samples import BUSINESS_STARTUP, HOUSEHOLD_TRANSFER


def problems(data: dict) -> set[tuple[str, str]]:
    """(field, code) of every problem parse_record reports."""
    with pytest.raises(ValidationProblem) as info:
        parse_record(data)
    return {(p.field, p.code) for p in info.value.problems}


def test_person_record_is_normalized() -> None:
    """ID, phone and white space are normalized; birth date and sex come from the number."""
    record = parse_record(HOUSEHOLD_TRANSFER)
    assert record.schema_version == SCHEMA_VERSION == 1
    applicant = record.applicant
    assert isinstance(applicant, Person)
    assert applicant.id_number == "11010519900307451X"
    assert applicant.phone == "+8613800138000"
    assert (applicant.birth_date, applicant.sex) == (date(1990, 3, 7), "male")


def test_sent_birth_date_is_replaced_by_the_numbers() -> None:
    """A birth date sent along is not trusted over the ID number's."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"]["birth_date"] = "2001-01-01"
    assert parse_record(data).applicant.birth_date == date(1990, 3, 7)  # type: ignore[union-attr]


def test_organization_with_legal_representative() -> None:
    """An organization applicant carries its legal representative, normalized the same way."""
    data = copy.deepcopy(BUSINESS_STARTUP)
    data["applicant"]["credit_code"] = "91350100m000100y43"
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Organization)
    assert applicant.credit_code == "91350100M000100Y43"
    assert applicant.legal_representative.phone == "+8613900139000"


def test_every_problem_is_reported_at_once_with_dotted_paths() -> None:
    """A bad checksum, a bad phone and an unknown field give three problems, not one."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(id_number="110105199003074519", phone="12345", nickname="Wei")
    assert problems(data) == {
        ("applicant.id_number", "checksum"),
        ("applicant.phone", "invalid"),
        ("applicant.nickname", "unknown_field"),
    }


def test_legal_representative_problems_have_nested_paths() -> None:
    """Paths go through the legal representative; the union's tag is not in them."""
    data = copy.deepcopy(BUSINESS_STARTUP)
    data["applicant"]["legal_representative"]["id_number"] = "440306197806150032"
    data["applicant"]["credit_code"] = "91350100M000100Y44"
    assert problems(data) == {
        ("applicant.legal_representative.id_number", "checksum"),
        ("applicant.credit_code", "checksum"),
    }


def test_missing_applicant_and_unknown_kind() -> None:
    """No applicant is required; an unknown kind is an invalid choice."""
    assert problems({"matter": "household.transfer"}) == {("applicant", "required")}
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"]["kind"] = "robot"
    assert problems(data) == {("applicant", "invalid_choice")}


def test_empty_name_and_wrong_types_are_problems() -> None:
    """White space is not a name; a number is not a phone."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(name="\u3000 ", phone=13800138000)
    assert problems(data) == {("applicant.name", "required"), ("applicant.phone", "type")}


def test_passport_numbers_are_not_checked_as_resident_ids() -> None:
    """Other documents are normalized in shape only, and derive nothing."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(id_type="passport", id_number="e 1234 5678")
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Person)
    assert (applicant.id_number, applicant.birth_date) == ("E12345678", None)
