"""Masking personal data (ID numbers, phones, names, addresses) wherever it is shown or logged."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


def mask_id_number(value: str) -> str:
    """110101199003074518 → 110101********4518: region and last four kept, birth date hidden."""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """+8613800138000 → +86138****8000."""
    digits = value.removeprefix("+86")
    prefix = value[: len(value) - len(digits)]
    if len(digits) < 7:
        return prefix + "*" * len(digits)
    return prefix + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str) -> str:
    """张三丰 → 张**; Li Lei → L*****: the first character only."""
    return value[:1] + "*" * (len(value) - 1) if value else value


def mask_address(value: str) -> str:
    """示范市新城区人民路12号 → 示范市新城****: enough to see the district, not the door."""
    keep = min(5, max(len(value) // 3, 1))
    return value[:keep] + "****"


_MASKS: dict[str, Callable[[str], str]] = {
    "id_number": mask_id_number,
    "legal_rep_id_number": mask_id_number,
    "phone": mask_phone,
    "contact_phone": mask_phone,
    "name": mask_name,
    "legal_rep_name": mask_name,
    "address": mask_address,
    "from_address": mask_address,
    "to_address": mask_address,
    "mailing_address": mask_address,
}
PERSONAL_KEYS = frozenset(_MASKS)
"""Record and form keys whose values are personal data."""


def mask_value(key: str, value: Any) -> Any:
    """A value masked the way its key's kind of data is; non-strings of those keys are hidden."""
    mask = _MASKS.get(key)
    if mask is None or value is None:
        return value
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping | list | tuple):
        return (
            mask_record(value)
            if isinstance(value, Mapping)
            else [mask_value(key, v) for v in value]
        )
    return "****"


def mask_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a JSON-like record with every personal value masked, at any depth."""
    masked: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_KEYS and not isinstance(value, Mapping):
            masked[key] = mask_value(key, value)
        elif isinstance(value, Mapping):
            masked[key] = mask_record(value)
        elif isinstance(value, list):
            masked[key] = [mask_record(v) if isinstance(v, Mapping) else v for v in value]
        else:
            masked[key] = value
    return masked


# 18-digit (or 15-digit legacy) resident ID numbers and Chinese mobile numbers inside free text.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}\d{3}[\dXx]|\d{6}\d{3})(?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def scrub_text(text: str) -> str:
    """Free text with any resident ID or mobile number in it masked: the last line of defence."""
    text = _ID_IN_TEXT.sub(
        lambda m: m.group(1) + "*" * (len(m.group(2)) - 4) + m.group(2)[-4:], text
    )
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
