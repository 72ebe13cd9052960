"""Identity documents: each type's rules, what its number says, and the record's holder fields."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any, get_args

import pytest
from stdnum.cn import ric, uscc

from hub.model.documents import (
    DOCUMENT_KINDS,
    DOCUMENT_TYPES,
    Document,
    DocumentType,
    normalize_country,
    parse_document,
    tax_document_code,
)
from hub.model.identity import (
    CREDIT_CODE_AUTHORITIES,
    CREDIT_CODE_CHARS,
    normalize_credit_code,
    organization_code_check_char,
    parse_resident_id,
)
from hub.model.problems import InvalidValue, ValidationProblem
from hub.model.record import LegalRepresentative, Organization, Person, parse_record
from tests.samples import DOMESTIC_STARTUP, HOUSEHOLD_TRANSFER

TODAY = date(2026, 11, 26)


def mod11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 writes it: weights 2^(17-i) mod 11, "10X98765432"."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def numbered(first17: str) -> str:
    """A GB 11643-shaped number with its check digit computed."""
    return first17 + mod11_2(first17)


def gb11714_check(body: str) -> str:
    """The organization code check as GB 11714 writes it: C9 = 11 - sum mod 11, 10 X, 11 0."""
    values = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(values.index(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def gb32100_check(first17: str) -> str:
    """The credit code check character: weights 3^i mod 31, 31 written as 0."""
    total = sum(CREDIT_CODE_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def credit_code(head: str, body: str) -> str:
    """A credit code from its first 8 characters and an organization code's 8, both checks made."""
    first17 = head + body + gb11714_check(body)
    return first17 + gb32100_check(first17)


def invalid(func: Callable[..., object], *args: object, **kwargs: object) -> InvalidValue:
    """The InvalidValue a call raises; every one explains itself."""
    with pytest.raises(InvalidValue) as info:
        func(*args, **kwargs)
    assert info.value.message
    return info.value


FPR_2023 = numbered("93384019900307451")  # 9, then digits shaped like a citizen number
HK_RESIDENCE = numbered("81000019880601002")
MACAO_RESIDENCE = numbered("82000019880601003")
TAIWAN_RESIDENCE = numbered("83000019880601004")


# the check digits of the helpers, checked against python-stdnum


@pytest.mark.parametrize("number", [FPR_2023, HK_RESIDENCE, TAIWAN_RESIDENCE, "11010519900307451X"])
def test_mod_11_2_helper_agrees_with_python_stdnum(number: str) -> None:
    """The tests' MOD 11-2 is the one stdnum.cn.ric computes, for every GB 11643-shaped number."""
    assert ric.calc_check_digit(number) == number[17]


def test_gb_11714_helper_verifies_the_well_known_codes() -> None:
    """91350100M000100Y43 and 91110000600037341L embed organization codes that verify."""
    assert gb11714_check("M000100Y") == "4" == organization_code_check_char("M000100Y")
    assert gb11714_check("60003734") == "1" == organization_code_check_char("60003734")


# resident ID numbers


@pytest.mark.parametrize("first", ["0", "9"])
def test_resident_ids_beginning_0_or_9_are_refused(first: str) -> None:
    """A region's first digit is 1 to 8; 9 is a foreigner's card, 0 nobody's."""
    number = numbered(first + "1010119900307451")
    problem = invalid(parse_resident_id, number)
    assert problem.code == ("region" if first == "0" else "wrong_document_type")
    assert not ric.is_valid(number)  # stdnum.cn.ric knows no such region either


def test_a_foreign_permanent_resident_number_as_resident_id_names_the_right_type() -> None:
    """The message tells the window which id_type to use."""
    problem = invalid(parse_resident_id, FPR_2023)
    assert problem.code == "wrong_document_type"
    assert "foreign_permanent_residence" in problem.message


def test_a_residence_permit_number_as_resident_id_names_the_right_type() -> None:
    """810000, 820000 and 830000 are residence permits, whatever their check digit says."""
    problem = invalid(parse_resident_id, TAIWAN_RESIDENCE)
    assert (problem.code, "hk_macao_taiwan_residence" in problem.message) == (
        "wrong_document_type",
        True,
    )


def test_fifteen_digit_numbers_beginning_0_are_refused() -> None:
    """The region rule holds for legacy numbers too."""
    assert invalid(parse_resident_id, "010105900307451").code == "region"


def test_resident_id_document_is_chinese_and_carries_its_holder() -> None:
    """Nationality CHN, and birth date and sex from the number."""
    assert parse_document("resident_id", "110105900307451") == Document(
        "resident_id", "11010519900307451X", date(1990, 3, 7), "male", "CHN"
    )


# foreign permanent resident ID cards


def test_2023_card_verifies_its_mod_11_2_check_digit_and_carries_its_holder() -> None:
    """Same check as a citizen number (NIA 2023); birth date and sex are read from the number."""
    document = parse_document("foreign_permanent_residence", FPR_2023, today=TODAY)
    assert (document.number, document.birth_date, document.sex) == (
        FPR_2023,
        date(1990, 3, 7),
        "male",
    )
    wrong = FPR_2023[:17] + ("0" if FPR_2023[17] != "0" else "1")
    assert invalid(parse_document, "foreign_permanent_residence", wrong).code == "checksum"


def test_old_card_is_three_letters_of_a_country_and_twelve_digits() -> None:
    """The letters are the holder's nationality; the number says nothing else."""
    document = parse_document("foreign_permanent_residence", "usa 110080 201001")
    assert document == Document("foreign_permanent_residence", "USA110080201001", nationality="USA")
    assert (
        invalid(parse_document, "foreign_permanent_residence", "XYZ110080201001").code
        == "unknown_country"
    )


@pytest.mark.parametrize("number", ["USA11008020100", "U1A110080201001", "8" * 18, "9" * 17])
def test_other_permanent_resident_shapes_are_a_format_problem(number: str) -> None:
    """Neither 18 characters beginning 9 nor 3 letters and 12 digits."""
    assert invalid(parse_document, "foreign_permanent_residence", number).code == "format"


# residence permits for Hong Kong, Macao and Taiwan residents


@pytest.mark.parametrize(
    ("number", "nationality"),
    [(HK_RESIDENCE, "HKG"), (MACAO_RESIDENCE, "MAC"), (TAIWAN_RESIDENCE, "TWN")],
)
def test_residence_permits_carry_region_birth_date_and_sex(number: str, nationality: str) -> None:
    """810000 Hong Kong, 820000 Macao, 830000 Taiwan; birth date and sex as in a citizen number."""
    document = parse_document("hk_macao_taiwan_residence", number, today=TODAY)
    assert document.nationality == nationality
    assert document.birth_date == date(1988, 6, 1)
    assert document.sex == ("female" if int(number[16]) % 2 == 0 else "male")


def test_residence_permit_problems() -> None:
    """Another region, a wrong check digit, an impossible birth date, a wrong shape."""
    assert (
        invalid(parse_document, "hk_macao_taiwan_residence", "11010519900307451X").code == "region"
    )
    wrong = HK_RESIDENCE[:17] + ("0" if HK_RESIDENCE[17] != "0" else "1")
    assert invalid(parse_document, "hk_macao_taiwan_residence", wrong).code == "checksum"
    impossible = numbered("81000019880230002")
    assert invalid(parse_document, "hk_macao_taiwan_residence", impossible).code == "birth_date"
    assert invalid(parse_document, "hk_macao_taiwan_residence", "H12345678").code == "format"


# travel permits and passports


@pytest.mark.parametrize(
    ("number", "normalized", "nationality"),
    [
        ("H12345678", "H12345678", "HKG"),
        ("m 1234 5678 01", "M1234567801", "MAC"),
        ("Ｈ１２３４５６７８", "H12345678", "HKG"),
    ],
)
def test_hong_kong_and_macao_permits(number: str, normalized: str, nationality: str) -> None:
    """H or M and 8 or 10 digits; the letter says Hong Kong or Macao."""
    assert parse_document("hk_macao_permit", number) == Document(
        "hk_macao_permit", normalized, nationality=nationality
    )


@pytest.mark.parametrize("number", ["A12345678", "H1234567", "H123456789", "12345678", "HK1234567"])
def test_other_hong_kong_and_macao_permit_shapes_are_refused(number: str) -> None:
    """Another letter, or 7 or 9 digits, is a format problem."""
    assert invalid(parse_document, "hk_macao_permit", number).code == "format"


@pytest.mark.parametrize("number", ["12345678", "1234567801"])
def test_taiwan_permits_have_8_or_10_digits(number: str) -> None:
    """The holder is a Taiwan resident: ISO 3166 TWN."""
    assert parse_document("taiwan_permit", number).nationality == "TWN"


@pytest.mark.parametrize("number", ["1234567", "123456789", "T12345678", "12345678901"])
def test_other_taiwan_permit_shapes_are_refused(number: str) -> None:
    """7, 9 or 11 digits, or a letter, is a format problem."""
    assert invalid(parse_document, "taiwan_permit", number).code == "format"


def test_passports_are_letters_and_digits_and_say_nothing_of_their_holder() -> None:
    """5 to 20 letters and digits; nationality, birth date and sex must be sent."""
    assert parse_document("passport", "e 1234 5678") == Document("passport", "E12345678")
    for number in ("E123", "E1234-5678", "护照E1234", "E" * 21):
        assert invalid(parse_document, "passport", number).code == "format"


# nationality


@pytest.mark.parametrize(("value", "code"), [("chn", "CHN"), (" USA ", "USA"), ("TWN", "TWN")])
def test_nationality_is_an_iso_3166_alpha_3_code(value: str, code: str) -> None:
    """Upper-cased and checked against ISO 3166-1 as pycountry carries it."""
    assert normalize_country(value) == code


@pytest.mark.parametrize(("value", "code"), [("XYZ", "unknown_country"), ("US", "format")])
def test_unknown_or_misshapen_nationality_is_refused(value: str, code: str) -> None:
    """XYZ is no country; two letters are alpha-2, not the alpha-3 the record keeps."""
    assert invalid(normalize_country, value).code == code


# the table


def test_every_document_type_is_in_the_table_with_a_tax_code() -> None:
    """One row per type, each with the tax system's code(s) and Chinese name."""
    assert set(DOCUMENT_KINDS) == set(DOCUMENT_TYPES)
    assert all(kind.tax_codes and kind.name_zh for kind in DOCUMENT_KINDS.values())
    assert set(get_args(Person.model_fields["id_type"].annotation)) == set(DOCUMENT_TYPES)


@pytest.mark.parametrize(
    ("id_type", "number", "nationality", "code"),
    [
        ("resident_id", "11010519900307451X", "CHN", "201"),
        ("passport", "E12345678", "USA", "208"),
        ("passport", "E12345678", "CHN", "227"),
        ("hk_macao_permit", "H12345678", "HKG", "210"),
        ("taiwan_permit", "12345678", "TWN", "213"),
        ("foreign_permanent_residence", FPR_2023, None, "233"),
        ("hk_macao_taiwan_residence", HK_RESIDENCE, "HKG", "237"),
        ("hk_macao_taiwan_residence", TAIWAN_RESIDENCE, "TWN", "238"),
    ],
)
def test_tax_document_codes(
    id_type: DocumentType, number: str, nationality: str | None, code: str
) -> None:
    """A Chinese passport is 227, a foreign one 208; Taiwan's residence permit 238."""
    assert tax_document_code(id_type, number, nationality) == code


# credit codes: authority, organization type, organization code


def test_well_known_credit_codes_pass_every_check() -> None:
    """The standard's example and stdnum's example verify end to end."""
    for code in ("91350100M000100Y43", "91110000600037341L"):
        assert normalize_credit_code(code) == code


@pytest.mark.parametrize(
    ("head", "body"),
    [
        ("91110000", "MA01AB2C"),  # a company
        ("92440300", "L1234567"),  # a sole trader
        ("12100000", "40000062"),  # a public institution
        ("31110000", "E0000001"),  # a law firm
        ("N2320500", "MA1XXYY0"),  # a village collective
        ("Y1440300", "MA5F0BQ8"),  # another authority, type 1 only
    ],
)
def test_minted_credit_codes_of_every_authority_verify(head: str, body: str) -> None:
    """Codes built with both checks pass; where stdnum knows the shape, it agrees."""
    code = credit_code(head, body)
    assert normalize_credit_code(code) == code
    if head[0].isdigit():
        # stdnum.cn.uscc wants 8 leading digits, so it refuses the N and Y authorities' codes.
        assert uscc.is_valid(code)
        assert uscc.calc_check_digit(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("head", "code"),
    [
        ("01110000", "authority"),  # a credit code beginning with 0
        ("B1110000", "authority"),
        ("94110000", "organization_type"),  # 工商 registers types 1 to 3 only
        ("Y2110000", "organization_type"),
        ("5A110000", "organization_type"),
        ("91AB0000", "region"),
    ],
)
def test_authority_type_and_region_are_checked(head: str, code: str) -> None:
    """The first character must be an authority and the second one of its types."""
    assert invalid(normalize_credit_code, credit_code(head, "MA01AB2C")).code == code


def test_embedded_organization_code_check_is_verified() -> None:
    """A code whose own check character fits but whose organization code does not is refused."""
    good = credit_code("91110000", "MA01AB2C")
    org_check = good[16]
    wrong = next(c for c in "0123456789X" if c != org_check)
    first17 = good[:16] + wrong
    bad = first17 + gb32100_check(first17)
    problem = invalid(normalize_credit_code, bad)
    assert problem.code == "organization_code"
    assert f"should end in {org_check}" in problem.message
    assert uscc.is_valid(bad)  # stdnum.cn.uscc does not look inside: the hub does


def test_every_authority_has_at_least_one_type() -> None:
    """The table is data the checks rely on; a typo leaving an authority empty would refuse all."""
    assert all(types for types in CREDIT_CODE_AUTHORITIES.values())
    assert "0" not in CREDIT_CODE_AUTHORITIES


# the record's holder fields


def household(**applicant: Any) -> dict[str, Any]:
    """The household transfer sample, applicant fields overridden."""
    data = copy.deepcopy(HOUSEHOLD_TRANSFER)
    data["applicant"].update(applicant)
    return data


def problems(data: dict[str, Any]) -> set[tuple[str, str]]:
    """(field, code) of every problem parse_record reports."""
    with pytest.raises(ValidationProblem) as info:
        parse_record(data)
    assert all(p.message for p in info.value.problems)
    return {(p.field, p.code) for p in info.value.problems}


def person(data: dict[str, Any]) -> Person:
    """The parsed applicant, a person."""
    applicant = parse_record(data).applicant
    assert isinstance(applicant, Person)
    return applicant


def test_resident_id_holder_is_chinese_even_if_sent_otherwise() -> None:
    """Nationality is CHN for a resident ID; what was sent is replaced, like birth date and sex."""
    assert person(household()).nationality == "CHN"
    assert person(household(nationality="USA")).nationality == "CHN"


def test_passport_holder_needs_nationality_sex_and_birth_date() -> None:
    """None of them is in a passport number: all three are reported at once."""
    assert problems(household(id_type="passport", id_number="E12345678")) == {
        ("applicant.nationality", "nationality_required"),
        ("applicant.sex", "required"),
        ("applicant.birth_date", "required"),
    }


def test_passport_holder_with_everything_is_kept_as_sent() -> None:
    """A Chinese passport is allowed; the values sent are the record's."""
    data = household(
        id_type="passport", id_number="e1234 5678", nationality="chn", sex="female",
        birth_date="1988年6月1日",
    )  # fmt: skip
    applicant = person(data)
    assert (applicant.id_number, applicant.nationality) == ("E12345678", "CHN")
    assert (applicant.sex, applicant.birth_date) == ("female", date(1988, 6, 1))


def test_unknown_nationality_is_refused_at_its_field() -> None:
    """XYZ is reported at applicant.nationality, alongside any other problem."""
    data = household(
        id_type="passport", id_number="E12345678", nationality="XYZ", sex="male",
        birth_date="1990-01-01", phone="12345",
    )  # fmt: skip
    assert problems(data) == {
        ("applicant.nationality", "unknown_country"),
        ("applicant.phone", "invalid"),
    }


@pytest.mark.parametrize(
    ("id_type", "number", "nationality"),
    [
        ("hk_macao_permit", "M12345678", "MAC"),
        ("taiwan_permit", "12345678", "TWN"),
        ("foreign_permanent_residence", "CAN110080201001", "CAN"),
    ],
)
def test_permits_derive_nationality_but_need_sex_and_birth_date(
    id_type: str, number: str, nationality: str
) -> None:
    """The permit says where its holder is from, not when born or whether man or woman."""
    assert problems(household(id_type=id_type, id_number=number)) == {
        ("applicant.sex", "required"),
        ("applicant.birth_date", "required"),
    }
    applicant = person(
        household(id_type=id_type, id_number=number, sex="male", birth_date="1970-01-02")
    )
    assert (applicant.nationality, applicant.sex) == (nationality, "male")


@pytest.mark.parametrize("number", [FPR_2023, TAIWAN_RESIDENCE])
def test_numbers_that_carry_the_holder_replace_what_was_sent(number: str) -> None:
    """The 2023 permanent resident card and the residence permits: derived, sent values replaced."""
    id_type = "foreign_permanent_residence" if number[0] == "9" else "hk_macao_taiwan_residence"
    data = household(id_type=id_type, id_number=number, sex="female", birth_date="2001-01-01")
    applicant = person(data)
    expected = parse_document(id_type, number)  # type: ignore[arg-type]
    assert (applicant.birth_date, applicant.sex) == (expected.birth_date, expected.sex)
    assert applicant.birth_date != date(2001, 1, 1)


def test_2023_card_nationality_is_optional_and_checked_when_sent() -> None:
    """The 2023 number's country digits are not read: a nationality sent is kept if real."""
    data = household(id_type="foreign_permanent_residence", id_number=FPR_2023)
    assert person(data).nationality is None
    assert person(
        {**data, "applicant": {**data["applicant"], "nationality": "deu"}}
    ).nationality == ("DEU")


def test_a_birth_date_in_the_future_is_refused() -> None:
    """Sent for a passport, it is checked like a number's."""
    data = household(
        id_type="passport", id_number="E12345678", nationality="USA", sex="male",
        birth_date="2999-01-01",
    )  # fmt: skip
    assert problems(data) == {("applicant.birth_date", "invalid_date")}


def test_legal_representative_with_a_passport_needs_the_same_fields() -> None:
    """The legal representative now records nationality, sex and birth date, at nested paths."""
    data = copy.deepcopy(DOMESTIC_STARTUP)
    data["applicant"]["legal_representative"].update(id_type="passport", id_number="K1234567")
    assert problems(data) == {
        ("applicant.legal_representative.nationality", "nationality_required"),
        ("applicant.legal_representative.sex", "required"),
        ("applicant.legal_representative.birth_date", "required"),
    }
    data["applicant"]["legal_representative"].update(
        nationality="GBR", sex="female", birth_date="1975-05-05"
    )
    company = parse_record(data).applicant
    assert isinstance(company, Organization)
    legal = company.legal_representative
    assert isinstance(legal, LegalRepresentative)
    assert (legal.nationality, legal.sex, legal.birth_date) == ("GBR", "female", date(1975, 5, 5))


def test_resident_id_legal_representative_gets_derived_fields() -> None:
    """A resident ID's holder: CHN, birth date and sex from the number, nothing to send."""
    company = parse_record(DOMESTIC_STARTUP).applicant
    assert isinstance(company, Organization)
    legal = company.legal_representative
    assert (legal.nationality, legal.sex, legal.birth_date) == ("CHN", "male", date(1978, 6, 15))


def test_wrong_document_type_is_reported_at_the_id_number() -> None:
    """A foreigner's 2023 card sent as a resident ID: the window is told which type to use."""
    assert problems(household(id_number=FPR_2023)) == {
        ("applicant.id_number", "wrong_document_type")
    }


def test_a_bad_number_does_not_hide_the_other_problems() -> None:
    """With the passport number refused, the missing nationality is still reported."""
    assert problems(household(id_type="passport", id_number="E1", sex="male")) == {
        ("applicant.id_number", "format"),
        ("applicant.nationality", "nationality_required"),
        ("applicant.birth_date", "required"),
    }
