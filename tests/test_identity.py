"""Normalization of Chinese identity data: each rule, and how it fails."""

from __future__ import annotations

from datetime import date

import pytest

from hub.identity import (
    compute_resident_id_check,
    credit_code_check_char,
    normalize_credit_code,
    normalize_phone,
    normalize_text,
    parse_date,
    parse_resident_id,
)
from hub.problems import InvalidValue


def test_nfkc_turns_full_width_digits_and_letters_half_width() -> None:
    """Full-width characters typed on a Chinese keyboard become ordinary ones."""
    assert normalize_text("人民路１２号ＡＢ座") == "人民路12号AB座"


def test_white_space_is_trimmed_and_collapsed_including_ideographic_space() -> None:
    """Leading, trailing and repeated spaces (U+3000 too) go."""
    assert normalize_text("\u3000 张  三\t丰 \n") == "张 三 丰"


def test_check_digit_follows_gb_11643() -> None:
    """The check character is "10X98765432"[weighted sum mod 11]."""
    assert compute_resident_id_check("11010519900307451") == "X"
    assert compute_resident_id_check("31011519851120262") == "4"


def test_valid_eighteen_digit_number_gives_birth_date_and_sex() -> None:
    """An odd 17th digit is a man, even a woman; digits 7 to 14 are the birth date."""
    man = parse_resident_id("11010519900307451X")
    assert (man.number, man.birth_date, man.sex) == ("11010519900307451X", date(1990, 3, 7), "male")
    woman = parse_resident_id("310115198511202624")
    assert (woman.birth_date, woman.sex) == (date(1985, 11, 20), "female")


def test_lower_case_check_letter_and_full_width_digits_are_normalized() -> None:
    """x becomes X; full-width digits and spaces typed in between are accepted."""
    assert parse_resident_id("１１０１０５ 19900307451x").number == "11010519900307451X"


def test_wrong_check_digit_is_a_checksum_problem_naming_the_right_one() -> None:
    """One mistyped digit is caught by the check digit."""
    with pytest.raises(InvalidValue) as info:
        parse_resident_id("110105199003074519")
    assert info.value.code == "checksum"
    assert "should be X, not 9" in info.value.message


def test_fifteen_digit_legacy_number_becomes_eighteen_digits_with_check_digit() -> None:
    """Numbers issued before 1999 gain the century 19 and a computed check digit."""
    parsed = parse_resident_id("110105900307451")
    assert parsed.number == "11010519900307451X"
    assert (parsed.birth_date, parsed.sex) == (date(1990, 3, 7), "male")


@pytest.mark.parametrize(
    "value", ["1101051990030745", "11010519900307451Y", "abc", "1101051990030745123"]
)
def test_wrong_shape_is_a_format_problem(value: str) -> None:
    """Wrong lengths and characters are format problems."""
    with pytest.raises(InvalidValue) as info:
        parse_resident_id(value)
    assert info.value.code == "format"


def test_impossible_or_future_birth_date_is_refused() -> None:
    """February 30th and a birth in the future are birth_date problems."""
    first17 = "11010519900230451"
    with pytest.raises(InvalidValue) as info:
        parse_resident_id(first17 + compute_resident_id_check(first17))
    assert info.value.code == "birth_date"
    future = "11010520300101451"
    with pytest.raises(InvalidValue) as info:
        parse_resident_id(future + compute_resident_id_check(future), today=date(2026, 11, 26))
    assert info.value.code == "birth_date"


def test_credit_code_check_character_follows_gb_32100() -> None:
    """The well-known example code verifies; its check character is computed the same way."""
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert normalize_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_credit_code_with_wrong_check_character_is_a_checksum_problem() -> None:
    """A wrong last character is caught."""
    with pytest.raises(InvalidValue) as info:
        normalize_credit_code("91350100M000100Y44")
    assert info.value.code == "checksum"
    assert "should be 3" in info.value.message


@pytest.mark.parametrize("value", ["91350100M000100Y4", "91350100O000100Y43", "9135010/M000100Y43"])
def test_credit_code_of_wrong_shape_is_a_format_problem(value: str) -> None:
    """Wrong length, or a letter the standard excludes (O), is a format problem."""
    with pytest.raises(InvalidValue) as info:
        normalize_credit_code(value)
    assert info.value.code == "format"


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("010-12345678", "+861012345678"),
    ],
)
def test_phone_numbers_become_e164(value: str, e164: str) -> None:
    """Mobiles and landlines in every common spelling become +86…"""
    assert normalize_phone(value) == e164


@pytest.mark.parametrize(
    ("value", "code"), [("call me", "format"), ("12345", "invalid"), ("1380013800", "invalid")]
)
def test_bad_phone_numbers_are_refused(value: str, code: str) -> None:
    """Text is a format problem; a number too short for any plan is invalid."""
    with pytest.raises(InvalidValue) as info:
        normalize_phone(value)
    assert info.value.code == code


@pytest.mark.parametrize(
    "value",
    [
        "20241105",
        "2024-11-05",
        "2024/11/5",
        "2024.11.5",
        "2024年11月5日",
        "２０２４年１１月５日",
        " 2024 / 11 / 05 ",
    ],
)
def test_date_shapes_become_iso(value: str) -> None:
    """Every shape the windows send is one calendar day."""
    assert parse_date(value) == date(2024, 11, 5)


def test_bad_dates_are_refused_by_kind() -> None:
    """An unknown shape is a format problem; February 30th is not a day."""
    with pytest.raises(InvalidValue) as info:
        parse_date("5 Nov 2024")
    assert info.value.code == "format"
    with pytest.raises(InvalidValue) as info:
        parse_date("2024-02-30")
    assert info.value.code == "invalid_date"
