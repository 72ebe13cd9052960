"""Normalization of Chinese identity data: each rule, and how it fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from hub.model.identity import (
    CREDIT_CODE_CHARS,
    ResidentId,
    compute_resident_id_check,
    credit_code_check_char,
    normalize_credit_code,
    normalize_phone,
    normalize_text,
    parse_date,
    parse_resident_id,
)
from hub.model.problems import InvalidValue


def gb11643_check(first17: str) -> str:
    """The check character as GB 11643 defines it: weights 2^(17-i) mod 11, written out here
    independently of the module's weight table."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def gb32100_check(first17: str) -> str:
    """The check character as GB 32100 defines it: weights 3^i mod 31, 31 written as 0."""
    total = sum(CREDIT_CODE_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def resident_id(area: str, born: str, sequence: str) -> str:
    """A valid 18-digit number from its parts, check digit computed by the formula."""
    first17 = area + born + sequence
    return first17 + gb11643_check(first17)


MAN = resident_id("110101", "19900307", "451")  # 110101199003074514
WOMAN = resident_id("310115", "19851120", "262")  # 310115198511202624
X_CHECK = resident_id("110105", "19900307", "451")  # 11010519900307451X
TODAY = date(2026, 11, 26)


def invalid(func: Callable[..., object], *args: object, **kwargs: object) -> InvalidValue:
    """The InvalidValue a call raises."""
    with pytest.raises(InvalidValue) as info:
        func(*args, **kwargs)
    assert info.value.message, "every problem explains itself"
    return info.value


# normalize_text


def test_nfkc_turns_full_width_digits_and_letters_half_width() -> None:
    """Full-width characters typed on a Chinese keyboard become ordinary ones."""
    assert normalize_text("人民路１２号ＡＢ座ｃ") == "人民路12号AB座c"


def test_white_space_is_trimmed_and_collapsed_including_ideographic_space() -> None:
    """Leading, trailing and repeated white space (U+3000, tabs, newlines) becomes one space."""
    assert normalize_text("\u3000 张  三\t丰\u3000\u3000王 \n") == "张 三 丰 王"


def test_text_of_only_white_space_becomes_empty() -> None:
    """Nothing but spaces normalizes to the empty string, for callers to call it missing."""
    assert normalize_text(" \u3000\t ") == ""


# resident ID numbers


def test_check_digit_follows_gb_11643() -> None:
    """The check character is "10X98765432"[weighted sum mod 11], X included."""
    assert compute_resident_id_check("11010119900307451") == "4"
    assert compute_resident_id_check("11010519900307451") == "X"
    assert compute_resident_id_check("31011519851120262") == "4"
    for first17 in ("44030619780615003", "11010120000229001", "65010219991231999"):
        assert compute_resident_id_check(first17) == gb11643_check(first17)


@pytest.mark.parametrize("first17", ["1101011990030745", "110101199003074511", "1101011990030745X"])
def test_check_digit_is_computed_from_exactly_seventeen_digits(first17: str) -> None:
    """The helper refuses anything but 17 digits, as a programming error."""
    with pytest.raises(ValueError, match="17"):
        compute_resident_id_check(first17)


def test_valid_eighteen_digit_number_is_kept_with_birth_date_and_sex() -> None:
    """Digits 7 to 14 are the birth date; the number itself is returned unchanged."""
    assert parse_resident_id(MAN) == ResidentId(MAN, date(1990, 3, 7), "male")
    assert parse_resident_id(WOMAN) == ResidentId(WOMAN, date(1985, 11, 20), "female")


@pytest.mark.parametrize(
    ("sequence", "sex"),
    [("451", "male"), ("453", "male"), ("459", "male"), ("450", "female"), ("452", "female")],
)
def test_sex_is_odd_for_men_and_even_for_women_in_the_sequence_last_digit(
    sequence: str, sex: str
) -> None:
    """The 17th character decides the holder's sex."""
    assert parse_resident_id(resident_id("110101", "19900307", sequence)).sex == sex


def test_lower_case_check_letter_becomes_upper_case() -> None:
    """x is accepted and stored as X."""
    assert parse_resident_id(X_CHECK.lower()).number == "11010519900307451X"


def test_full_width_digits_and_spaces_in_a_number_are_normalized() -> None:
    """Full-width digits and letters, and spaces typed between groups, are accepted."""
    assert parse_resident_id("１１０１０５ 19900307\u3000451ｘ ").number == X_CHECK


def test_wrong_check_digit_is_a_checksum_problem_naming_the_right_one() -> None:
    """One mistyped digit is caught by the check digit, and the message says which it should be."""
    problem = invalid(parse_resident_id, "110101199003074518")
    assert problem.code == "checksum"
    assert problem.message == "the check digit should be 4, not 8"


def test_swapped_digits_are_a_checksum_problem() -> None:
    """Two neighbouring digits typed the wrong way round do not verify."""
    swapped = MAN[:14] + MAN[15] + MAN[14] + MAN[16:]
    assert invalid(parse_resident_id, swapped).code == "checksum"


def test_fifteen_digit_resident_id_becomes_eighteen_digits_with_check_digit() -> None:
    """Numbers issued before 1999 gain the century 19 and a computed check digit."""
    parsed = parse_resident_id("110105900307451")
    assert parsed == ResidentId("11010519900307451X", date(1990, 3, 7), "male")
    assert parse_resident_id("310115851120262").number == WOMAN


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "1101011990030745",  # 16 digits
        "11010119900307451",  # 17 digits
        "1101011990030745140",  # 19 digits
        "11010119900307451Y",  # a check letter other than X
        "X10101199003074514",  # X anywhere but last
        "11010119900307451-4",
        "١١٠١٠١١٩٩٠٠٣٠٧٤٥١٤",  # Arabic-Indic digits, which NFKC leaves alone
    ],
)
def test_wrong_length_or_characters_are_a_format_problem(value: str) -> None:
    """Anything but 18 characters (digits, X last) or 15 digits is a format problem."""
    assert invalid(parse_resident_id, value).code == "format"


@pytest.mark.parametrize("born", ["19900230", "19901301", "19900000", "18790101"])
def test_impossible_birth_date_is_a_birth_date_problem(born: str) -> None:
    """February 30th, a 13th month, a day 0 or a birth before 1880 cannot be in a valid number."""
    assert invalid(parse_resident_id, resident_id("110101", born, "451")).code == "birth_date"


def test_impossible_birth_date_in_a_fifteen_digit_number_is_a_birth_date_problem() -> None:
    """Legacy numbers are checked for their birth date too."""
    assert invalid(parse_resident_id, "110101900230451").code == "birth_date"


def test_birth_date_in_the_future_is_a_birth_date_problem() -> None:
    """No one is born after today; `today` can be given so the check is deterministic."""
    tomorrow = resident_id("110101", "20261127", "451")
    problem = invalid(parse_resident_id, tomorrow, today=TODAY)
    assert problem.code == "birth_date"
    assert "future" in problem.message
    assert parse_resident_id(resident_id("110101", "20261126", "452"), today=TODAY).sex == "female"


# unified social credit codes


def test_credit_code_check_character_follows_gb_32100() -> None:
    """The well-known example code verifies, by the module and by the formula written out here."""
    assert gb32100_check("91350100M000100Y4") == "3"
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert normalize_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def gb11714_check(body: str) -> str:
    """The organization code check of GB 11714: weights 3,7,9,10,5,8,4,2 and A=10 … Z=35."""
    values = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(values.index(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def test_credit_code_check_of_thirty_one_is_written_zero() -> None:
    """When 31 - sum % 31 is 31, the check character is 0."""
    bodies = ("MA0000" + a + b for a in CREDIT_CODE_CHARS for b in CREDIT_CODE_CHARS)
    candidates = ("91110000" + body + gb11714_check(body) for body in bodies)
    first17 = next(p for p in candidates if gb32100_check(p) == "0")
    assert credit_code_check_char(first17) == "0"
    assert normalize_credit_code(first17 + "0") == first17 + "0"


@pytest.mark.parametrize(
    ("head", "body"), [("91110000", "MA000012"), ("12100000", "40000062"), ("Y1440300", "MA5F0BQ8")]
)
def test_minted_credit_codes_verify(head: str, body: str) -> None:
    """A code made with credit_code_check_char, as simulators make them, passes normalization."""
    first17 = head + body + gb11714_check(body)
    code = first17 + credit_code_check_char(first17)
    assert credit_code_check_char(first17) == gb32100_check(first17)
    assert normalize_credit_code(code) == code


def test_credit_code_is_upper_cased_and_stripped_after_nfkc() -> None:
    """Lower case, full-width characters and spaces are normalized away."""
    assert normalize_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert normalize_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


def test_credit_code_with_wrong_check_character_is_a_checksum_problem() -> None:
    """A wrong last character is caught, and the right one named."""
    problem = invalid(normalize_credit_code, "91350100M000100Y44")
    assert problem.code == "checksum"
    assert problem.message == "the check character should be 3, not 4"


@pytest.mark.parametrize(
    "value",
    [
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100I000100Y43",  # I, O, Z, S and V are not in the charset
        "91350100O000100Y43",
        "91350100Z000100Y43",
        "91350100S000100Y43",
        "91350100V000100Y43",
        "9135010/M000100Y43",
    ],
)
def test_credit_code_of_wrong_shape_is_a_format_problem(value: str) -> None:
    """Wrong length, or a character the standard excludes, is a format problem."""
    assert invalid(normalize_credit_code, value).code == "format"


def test_credit_code_check_needs_seventeen_characters_of_the_charset() -> None:
    """The helper refuses a wrong length or an excluded letter, as a programming error."""
    with pytest.raises(ValueError, match="17"):
        credit_code_check_char("91350100M000100Y")
    with pytest.raises(ValueError, match="17"):
        credit_code_check_char("91350100O000100Y4")


# phone numbers


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("＋８６ １３８ ００１３ ８０００", "+8613800138000"),
        ("010-12345678", "+861012345678"),
        ("(010) 1234-5678", "+861012345678"),
        ("021 6123 4567", "+862161234567"),
        ("+852 6123 4567", "+85261234567"),
    ],
)
def test_phone_numbers_become_e164(value: str, e164: str) -> None:
    """Mobiles and landlines in every common spelling become E.164."""
    assert normalize_phone(value) == e164


@pytest.mark.parametrize("value", ["call me", "", "abc13800138000", "138 0013 8000 电话"])
def test_phone_with_letters_or_no_digits_is_a_format_problem(value: str) -> None:
    """Text that is not written as a phone number is refused rather than mined for digits."""
    assert invalid(normalize_phone, value).code == "format"


@pytest.mark.parametrize("value", ["12345", "1380013800", "138001380001", "10086"])
def test_phone_of_a_length_or_prefix_no_plan_has_is_invalid(value: str) -> None:
    """Digits that no numbering plan gives out are an invalid number."""
    assert invalid(normalize_phone, value).code == "invalid"


# dates


@pytest.mark.parametrize(
    "value",
    [
        "20241105",
        "2024-11-05",
        "2024-11-5",
        "2024/11/5",
        "2024/11/05",
        "2024.11.5",
        "2024年11月5日",
        "2024年11月05日",
        "２０２４年１１月５日",
        "２０２４１１０５",
        " 2024 年 11 月 5 日 ",
        " 2024 / 11 / 05 ",
    ],
)
def test_date_shapes_become_one_calendar_day(value: str) -> None:
    """Every shape the windows send is read as 5 November 2024."""
    assert parse_date(value) == date(2024, 11, 5)
    assert parse_date(value).isoformat() == "2024-11-05"


def test_dates_pass_through_and_date_times_lose_their_time() -> None:
    """A date is returned as it is; a datetime becomes its day."""
    assert parse_date(date(2024, 11, 5)) == date(2024, 11, 5)
    assert type(parse_date(datetime(2024, 11, 5, 9, 30))) is date


@pytest.mark.parametrize(
    "value",
    ["", "5 Nov 2024", "11/05/2024", "05.11.2024", "2024-11", "241105", "2024-11/05", "２０２４年"],
)
def test_unknown_date_shapes_are_a_format_problem(value: str) -> None:
    """Shapes that would need guessing (day or month first?) are refused."""
    assert invalid(parse_date, value).code == "format"


@pytest.mark.parametrize("value", ["2024-02-30", "20241301", "2023年2月29日", "2024/4/31"])
def test_days_not_in_the_calendar_are_an_invalid_date_problem(value: str) -> None:
    """A well-shaped date that does not exist is invalid_date."""
    assert invalid(parse_date, value).code == "invalid_date"


def test_leap_day_of_a_leap_year_is_a_date() -> None:
    """29 February exists in 2024."""
    assert parse_date("2024年2月29日") == date(2024, 2, 29)
