"""Masking personal data for logs, the sync log and API views."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from hub.model.record import parse_record
from hub.ops.privacy import (
    PERSONAL_KEYS,
    mask_address,
    mask_birth_date,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_record,
    mask_value,
    scrub_text,
)
from tests.samples import HOUSEHOLD_TRANSFER, LI_NA_ID, ZHANG_WEI_ID


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003074518", "110101********4518"),
        ("11010519900307451X", "110105********451X"),
        ("110105900307451", "110105*****7451"),
        ("E12345678", "E********"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_id_numbers_keep_only_region_and_last_four(value: str, masked: str) -> None:
    """The birth date and sequence are hidden; short numbers are almost all stars."""
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+8613800138000", "+86138****8000"),
        ("13800138000", "138****8000"),
        ("+861012345678", "+86101***5678"),
        ("+85261234567", "+85*****4567"),
        ("12345", "*****"),
    ],
)
def test_phones_keep_only_prefix_and_last_four(value: str, masked: str) -> None:
    """Enough to recognize a number on the phone, not to dial it."""
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三丰", "张**"), ("张伟", "张*"), ("Li Lei", "L*****"), ("欧阳娜娜", "欧***"), ("王", "*")],
)
def test_names_keep_only_the_first_character(value: str, masked: str) -> None:
    """The family name (or initial) stays, the rest is starred."""
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("示范市新城区人民路12号", "示范市新****"),
        ("北京市朝阳区建国路88号院3号楼2单元501室", "北京市朝阳****"),
        ("人民路", "人****"),
    ],
)
def test_addresses_keep_only_the_first_few_characters(value: str, masked: str) -> None:
    """Province or city stays; the street and door are hidden, and so is the length."""
    assert mask_address(value) == masked


def test_birth_dates_keep_only_the_year() -> None:
    """The year shows an age group; the day would narrow it to one person."""
    assert mask_birth_date("1990-03-07") == "1990-**-**"
    assert mask_birth_date("07/03/1990") == "**********"


def test_personal_keys_cover_the_record_and_common_form_fields() -> None:
    """Record fields and the catalog's personal form fields are all known as personal."""
    assert {"name", "id_number", "phone", "address", "birth_date"} <= PERSONAL_KEYS
    assert {"from_address", "to_address", "mailing_address", "contact_phone"} <= PERSONAL_KEYS
    assert {"legal_rep_name", "legal_rep_id_number", "legal_rep_phone"} <= PERSONAL_KEYS
    assert not {"matter", "kind", "id_type", "credit_code", "sex"} & PERSONAL_KEYS


@pytest.mark.parametrize(
    ("key", "value", "masked"),
    [
        ("id_number", LI_NA_ID, "310115********2624"),
        ("contact_phone", "+8613800138000", "+86138****8000"),
        ("name", "王建国", "王**"),
        ("to_address", "示范市新城区人民路12号", "示范市新****"),
        ("birth_date", date(1990, 3, 7), "1990-**-**"),
        ("phone", 13800138000, "****"),
        ("phone", None, None),
        (
            "address",
            {"city": "示范市", "street": "人民路12号"},
            {"city": "示****", "street": "人民****"},
        ),
        ("phone", ["13800138000", "+8613900139000"], ["138****8000", "+86139****9000"]),
        ("matter", "household.transfer", "household.transfer"),
        ("employees", 12, 12),
    ],
)
def test_mask_value_chooses_the_mask_by_key(key: str, value: Any, masked: Any) -> None:
    """Each key's kind of data gets its mask, at every leaf; other keys are left alone."""
    assert mask_value(key, value) == masked


def test_mask_record_masks_at_any_depth() -> None:
    """Every personal value in a record is masked, in mappings and lists; others are untouched."""
    record: dict[str, Any] = {
        "matter": "business.startup",
        "applicant": {
            "kind": "organization",
            "name": "示范市云帆科技有限公司",
            "credit_code": "91350100M000100Y43",
            "legal_representative": {"name": "王建国", "id_number": LI_NA_ID, "phone": None},
        },
        "form": {
            "to_address": "示范市新城区人民路12号",
            "employees": 12,
            "shareholders": [{"name": "李娜", "id_number": LI_NA_ID, "share": 0.6}, "note"],
        },
    }
    original = copy.deepcopy(record)
    masked = mask_record(record)
    assert masked == {
        "matter": "business.startup",
        "applicant": {
            "kind": "organization",
            "name": "示**********",
            "credit_code": "91350100M000100Y43",
            "legal_representative": {
                "name": "王**",
                "id_number": "310115********2624",
                "phone": None,
            },
        },
        "form": {
            "to_address": "示范市新****",
            "employees": 12,
            "shareholders": [
                {"name": "李*", "id_number": "310115********2624", "share": 0.6},
                "note",
            ],
        },
    }
    assert record == original, "a copy is masked, never the record itself"


def test_masked_normalized_record_shows_no_personal_data() -> None:
    """A normalized record, dumped as the API stores it, keeps no ID, phone or birth day."""
    dumped = parse_record(HOUSEHOLD_TRANSFER).model_dump(mode="json")
    masked = mask_record(dumped)
    text = str(masked)
    for secret in (ZHANG_WEI_ID, "13800138000", "1990-03-07", "张伟", "建国路88号", "人民路１２号"):
        assert secret not in text
    assert masked["applicant"]["birth_date"] == "1990-**-**"
    assert masked["applicant"]["sex"] == "male"


def test_scrub_text_masks_numbers_inside_sentences() -> None:
    """ID and mobile numbers are found in free text; hashes and ids made of letters are not."""
    key = "01M8CT1A76AV1H1KAQ2G1R85MD"
    text = f"refused {ZHANG_WEI_ID} and 13800138000 (+8613700137000), key {key}"
    assert scrub_text(text) == (
        f"refused 110105********451X and 138****8000 (+86137****7000), key {key}"
    )


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("身份证号110101199003074518不符", "身份证号110101********4518不符"),
        ("ID110105900307451: unknown", "ID110105*****7451: unknown"),
        ("id=11010519900307451x;", "id=110105********451x;"),
        ("电话：138 0013 8000。", "电话：138 **** 8000。"),
        ("tel 138-0013-8000", "tel 138-****-8000"),
        ("call 0086 13800138000", "call 0086 138****8000"),
        ("call +86 138-0013-8000", "call +86 138-****-8000"),
        ("全角１３８００１３８０００", "全角１３８****８０００"),
    ],
)
def test_scrub_text_finds_numbers_however_they_are_written(text: str, scrubbed: str) -> None:
    """Numbers next to Chinese text or letters, grouped, prefixed or full-width are masked."""
    assert scrub_text(text) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "attempt 3 of 5 after 1500 ms",
        "amount 12345678.90 yuan",
        "landline 010-12345678",
        "order 1234567890123456789012",  # longer than any ID: not one
        "code 91350100M000100Y43",
        "sum 23800138000",  # 2 is no mobile prefix
    ],
)
def test_scrub_text_leaves_other_numbers_alone(text: str) -> None:
    """Counts, amounts, landlines, long references and credit codes are not personal numbers."""
    assert scrub_text(text) == text
