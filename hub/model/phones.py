"""Phone numbers: E.164 with their kind (mobile, landline, toll-free, foreign) and extension.

The record keeps a phone as one string, E.164 (+8657188888888), so its JSON shape and every
adapter reading it stay as they were. An extension, when there is one, follows the number as
RFC 3966 writes it: +8657188888888;ext=123. The kind is not stored: it follows from the
number (phone_kind), so it can never disagree with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

from hub.model.problems import InvalidValue
from hub.model.text import refuse_unsafe

PhoneKind = Literal["mobile", "landline", "toll_free", "foreign", "other"]

_SPACE = re.compile(r"\s+")
# What a phone number may be written with; phonenumbers itself would skip leading junk
# ("abc13800138000") and read vanity letters, which at a window are typing mistakes.
_PHONE_CHARS = re.compile(r"\+?[0-9(][0-9 ().-]*", re.ASCII)
# An extension as people write it: 转 123, 分机 123, ext. 123, x123, #123, or RFC 3966's
# ;ext=123 (how the record stores it, so a stored number reads back as itself).
_EXTENSION = re.compile(
    r"(?P<number>.*?)\s*(?:转|分机|ext\.?|extension|x|#|;ext=)\s*(?P<ext>[0-9]{1,6})",
    re.IGNORECASE,
)
# 0571-88888888-123: a trailing group after a complete landline number is its extension.
_DASH_EXTENSION = re.compile(r"(?P<number>.*[0-9])\s*-\s*(?P<ext>[0-9]{1,6})", re.ASCII)
_RFC3966_EXT = ";ext="

_KINDS: dict[int, PhoneKind] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline",
    PhoneNumberType.TOLL_FREE: "toll_free",  # 800
    PhoneNumberType.SHARED_COST: "toll_free",  # 400: free to the caller beyond a local call
}


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A valid phone number: E.164, its kind, and its extension if it has one."""

    e164: str
    kind: PhoneKind
    extension: str | None = None

    @property
    def value(self) -> str:
        """The number as the record stores it: E.164, with ;ext= (RFC 3966) if any."""
        return self.e164 + (f"{_RFC3966_EXT}{self.extension}" if self.extension else "")

    def national(self, extension_separator: str = "-") -> str:
        """The digits dialled from within China, as legacy systems store them.

        A landline keeps its trunk 0 (057188888888: stripping +86 alone drops it);
        a foreign number is written with China's international prefix 00 (00442079460958).
        """
        if self.kind == "foreign":
            digits = "00" + self.e164.removeprefix("+")
        else:
            number = phonenumbers.parse(self.e164)
            digits = phonenumbers.format_number_for_mobile_dialing(number, "CN", False)
            digits = re.sub(r"[^0-9]", "", digits)
        return digits + (f"{extension_separator}{self.extension}" if self.extension else "")


def _kind(number: phonenumbers.PhoneNumber) -> PhoneKind:
    # Numbers of Hong Kong, Macao and Taiwan are "foreign" here in the dialling sense: outside
    # the +86 plan, reached with 00.
    if number.country_code != 86:
        return "foreign"
    return _KINDS.get(phonenumbers.number_type(number), "other")


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    if not _PHONE_CHARS.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def parse_phone(value: str, region: str = "CN") -> PhoneNumber:
    """A phone number in any common spelling, checked against its numbering plan."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", refuse_unsafe(value))).strip()
    if text.startswith("00"):
        # 00 is the international prefix dialled from China; phonenumbers only reads "+".
        text = "+" + text[2:]
    extension: str | None = None
    if match := _EXTENSION.fullmatch(text):
        text, extension = match["number"], match["ext"]
    if not _PHONE_CHARS.fullmatch(text):
        raise InvalidValue(
            "format", "not a phone number: write digits, with +, spaces, hyphens or brackets"
        )
    number = _parse(text, region)
    if number is None and extension is None and (match := _DASH_EXTENSION.fullmatch(text)):
        head = _parse(match["number"], region)
        if head is not None and _kind(head) in ("landline", "toll_free"):
            number, extension = head, match["ext"]
    if number is None:
        try:
            phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise InvalidValue("format", "not a phone number") from None
        raise InvalidValue("invalid", "not a valid phone number: wrong length or unknown prefix")
    kind = _kind(number)
    if extension is not None and kind == "mobile":
        raise InvalidValue("invalid", "a mobile number has no extension")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneNumber(e164, kind, extension)


def phone_kind(value: str) -> PhoneKind:
    """The kind of a stored phone number (E.164, perhaps with ;ext=)."""
    return parse_phone(value).kind


def e164_phone(value: str) -> str:
    """A stored phone number without its extension: strictly E.164."""
    return value.split(_RFC3966_EXT, 1)[0]


def national_phone(value: str | None, extension_separator: str = "-") -> str:
    """A stored phone number as dialled within China: 13800138000, 057188888888,
    4008123123, 00442079460958; an extension follows the separator. None or "" gives ""."""
    if not value:
        return ""
    return parse_phone(value).national(extension_separator)
