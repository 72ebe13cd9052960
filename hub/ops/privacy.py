"""Masking personal data (ID numbers, phones, names, addresses) wherever it is shown or logged."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

_STARS = "****"


def mask_id_number(value: str) -> str:
    """110101199003074518 → 110101********4518: region and last four kept, birth date hidden."""
    if len(value) <= 4:
        return "*" * len(value)
    if len(value) <= 10:
        # Passports and permits are short: the last four would be most of the number.
        return value[:1] + "*" * (len(value) - 1)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """+8613800138000 → +86138****8000: the carrier prefix and the last four kept."""
    # An extension (+8657188888888;ext=123) says nothing alone; the number before it is masked.
    value, ext, extension = value.partition(";ext=")
    if ext:
        return mask_phone(value) + ext + "*" * len(extension)
    digits = value.removeprefix("+86")
    prefix = value[: len(value) - len(digits)]
    if len(digits) < 8:
        return prefix + "*" * len(digits)
    return prefix + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str) -> str:
    """张三丰 → 张**; Li Lei → L*****: the first character only."""
    if len(value) <= 1:
        return "*" * len(value)
    return value[:1] + "*" * (len(value) - 1)


def mask_address(value: str) -> str:
    """示范市新城区人民路12号 → 示范市新****: enough to see the city, not the door."""
    if not value:
        return value
    keep = min(5, max(len(value) // 3, 1))
    return value[:keep] + _STARS


def mask_birth_date(value: str) -> str:
    """1990-03-07 → 1990-**-**: the year says the age group; the day would identify."""
    if re.match(r"[0-9]{4}-", value, re.ASCII):
        return value[:4] + "-**-**"
    return "*" * len(value)


_MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "legal_rep_name": mask_name,
    "contact_name": mask_name,
    "id_number": mask_id_number,
    "legal_rep_id_number": mask_id_number,
    "contact_id_number": mask_id_number,
    "phone": mask_phone,
    "mobile": mask_phone,
    "legal_rep_phone": mask_phone,
    "contact_phone": mask_phone,
    "address": mask_address,
    "home_address": mask_address,
    "contact_address": mask_address,
    "from_address": mask_address,
    "to_address": mask_address,
    "mailing_address": mask_address,
    "birth_date": mask_birth_date,
}
PERSONAL_KEYS = frozenset(_MASKS)
"""Record, form and log keys whose values are personal data.

The legal representative's fields are covered by name, id_number and phone: masking recurses
into applicant.legal_representative like into any other mapping.
"""


def _mask_all(mask: Callable[[str], str], value: Any) -> Any:
    """Every leaf of a value masked with one mask: an address may come as a mapping of parts."""
    if value is None or (isinstance(value, str) and not value):
        return value
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, date):
        return mask(value.isoformat())
    if isinstance(value, Mapping):
        return {k: _mask_all(mask, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_all(mask, v) for v in value]
    # A number or a flag under a personal key (a phone sent as 13800138000) is hidden whole.
    return _STARS


def mask_value(key: str, value: Any) -> Any:
    """A value masked the way its key's kind of data is; values of other keys are unchanged."""
    mask = _MASKS.get(key)
    return value if mask is None else _mask_all(mask, value)


def _copy_masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_record(value)
    if isinstance(value, list | tuple):
        return [_copy_masked(v) for v in value]
    return value


def mask_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a JSON-like record with every personal value masked, at any depth."""
    return {
        key: mask_value(key, value) if key in PERSONAL_KEYS else _copy_masked(value)
        for key, value in data.items()
    }


# Resident ID numbers (18 characters, or 15 digits for old ones) and mobile numbers (+86, 0086
# or 86 optional, groups separated by a space or a hyphen) inside free text. \d also matches the
# full-width digits people type; a run of digits longer than a number is left alone, but letters
# around a number do not protect it ("ID110105…" is still masked).
_ID_IN_TEXT = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?!\d)")
_COUNTRY_CODE = r"(?:(?:[+＋]|00|００)?[8８][6６][- ]?)?"
_MOBILE_IN_TEXT = re.compile(
    rf"(?<!\d)({_COUNTRY_CODE}[1１][3-9３-９]\d)([- ]?)\d{{4}}([- ]?)(\d{{4}})(?!\d)"
)


def scrub_text(text: str) -> str:
    """Free text with any resident ID or mobile number in it masked: the last line of defence."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group()), text)
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m[1]}{m[2]}{_STARS}{m[3]}{m[4]}", text)
