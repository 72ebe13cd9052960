"""Masking personal data for logs, the sync log and API views."""

from __future__ import annotations

from typing import Any

from hub.privacy import mask_address, mask_id_number, mask_name, mask_phone, mask_record, scrub_text
from tests.samples import LI_NA_ID, ZHANG_WEI_ID


def test_masks_keep_only_what_an_operator_needs() -> None:
    """Region and last four of an ID; prefix and last four of a phone; first character of a name."""
    assert mask_id_number("110101199003074518") == "110101********4518"
    assert mask_phone("+8613800138000") == "+86138****8000"
    assert mask_name("张三丰") == "张**"
    assert mask_name("Li Lei") == "L*****"
    assert mask_address("示范市新城区人民路12号") == "示范市新****"


def test_mask_record_masks_at_any_depth() -> None:
    """Every personal value in a record is masked; other values are untouched."""
    record: dict[str, Any] = {
        "matter": "business.startup",
        "applicant": {
            "name": "示范市云帆科技有限公司",
            "legal_representative": {"name": "王建国", "id_number": LI_NA_ID},
        },
        "form": {"to_address": "示范市新城区人民路12号", "employees": 12},
    }
    masked = mask_record(record)
    assert masked["matter"] == "business.startup"
    assert masked["applicant"]["legal_representative"] == {
        "name": "王**",
        "id_number": "310115********2624",
    }
    assert masked["form"] == {"to_address": "示范市新****", "employees": 12}
    assert record["applicant"]["legal_representative"]["name"] == "王建国"  # a copy, not in place


def test_scrub_text_masks_numbers_inside_sentences() -> None:
    """ID and mobile numbers are found in free text; hashes and ids made of letters are not."""
    text = (
        f"refused {ZHANG_WEI_ID} and 13800138000 (+8613700137000), key 01M8CT1A76AV1H1KAQ2G1R85MD"
    )
    scrubbed = scrub_text(text)
    assert ZHANG_WEI_ID not in scrubbed
    assert "13800138000" not in scrubbed
    assert "13700137000" not in scrubbed
    assert "110105********451X" in scrubbed
    assert "138****8000" in scrubbed
    assert "01M8CT1A76AV1H1KAQ2G1R85MD" in scrubbed
