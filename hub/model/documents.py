"""Identity documents: each type's number rules, what its number says, and the codes of the table.

Resident ID numbers are parsed in hub.model.identity (parse_resident_id), which this module uses;
every other document type is here. Check digits are computed by the hub's own code and
cross-checked against python-stdnum (stdnum.cn.ric) in tests/test_documents.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import pycountry

from hub.model.identity import (
    birth_date_in,
    compact_code,
    compute_resident_id_check,
    normalize_text,
    parse_resident_id,
)
from hub.model.problems import InvalidValue

DocumentType = Literal[
    "resident_id",
    "passport",
    "hk_macao_permit",
    "taiwan_permit",
    "foreign_permanent_residence",
    "hk_macao_taiwan_residence",
]
DOCUMENT_TYPES: tuple[DocumentType, ...] = get_args(DocumentType)
Sex = Literal["male", "female"]

# ICAO Doc 9303 gives the document number 9 characters, and states use the optional data for
# longer ones: letters and digits only, with room for every state's format.
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}", re.ASCII)
# NIA: H (Hong Kong) or M (Macao) and 8 digits; cards since 2013 add 2 digits counting the issues.
_HK_MACAO_PERMIT = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?", re.ASCII)
# NIA: 8 digits, one number for life since 2008 (older booklets print 10, with the issue count).
_TAIWAN_PERMIT = re.compile(r"[0-9]{8}(?:[0-9]{2})?", re.ASCII)
# NIA 2023 rules: 18 characters like a citizen's number (GB 11643), 9 first, MOD 11-2 check.
_FPR_2023 = re.compile(r"9[0-9]{16}[0-9X]", re.ASCII)
# NIA 2004/2017 cards: 3 letters (the holder's nationality) and 12 digits.
_FPR_OLD = re.compile(r"([A-Z]{3})[0-9]{12}", re.ASCII)
# 港澳台居民居住证领取发放办法 (2018): a GB 11643 number whose region is 810000, 820000 or 830000.
_RESIDENCE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_RESIDENCE_REGIONS = {"810000": "HKG", "820000": "MAC", "830000": "TWN"}
_PERMIT_NATIONALITY = {"H": "HKG", "M": "MAC"}


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One document type: its names, the tax system's code(s), and what its number tells."""

    id_type: DocumentType
    name_zh: str
    name_en: str
    # The tax system's 身份证件类型 codes (see the note below the class).
    tax_codes: tuple[str, ...]
    # Whether the number carries the holder's birth date and sex (then they are derived).
    encodes_holder: bool
    nationality: Literal["CHN", "derived", "required", "optional"]


# The tax codes were not read from the tax administration's own code standard, which was not at
# hand: they agree in two independent integrations with the tax system's 电子税务局 code list
# (201 居民身份证, 208 外国护照, 210 港澳居民来往内地通行证, 213 台湾居民来往大陆通行证,
# 227 中国护照, 233 外国人永久居留身份证, 237 中华人民共和国港澳居民居住证,
# 238 中华人民共和国台湾居民居住证; 239 there is the foreign work permit class A, no residence
# permit). Confirm against the department's interface specification before relying on them.
# The one table of document types in the hub; per-department code mappings build on it.
DOCUMENT_KINDS: dict[DocumentType, DocumentKind] = {
    kind.id_type: kind
    for kind in (
        DocumentKind("resident_id", "居民身份证", "resident identity card", ("201",), True, "CHN"),
        # 208 外国护照 for a foreign passport, 227 中国护照 for a Chinese one.
        DocumentKind("passport", "护照", "passport", ("208", "227"), False, "required"),
        DocumentKind(
            "hk_macao_permit",
            "港澳居民来往内地通行证",
            "mainland travel permit for Hong Kong and Macao residents",
            ("210",),
            False,
            "derived",
        ),
        DocumentKind(
            "taiwan_permit",
            "台湾居民来往大陆通行证",
            "mainland travel permit for Taiwan residents",
            ("213",),
            False,
            "derived",
        ),
        # The 2023 card encodes the holder; the older 15-character one does not (see parse).
        DocumentKind(
            "foreign_permanent_residence",
            "外国人永久居留身份证",
            "foreign permanent resident ID card",
            ("233",),
            True,
            "optional",
        ),
        # 237 for Hong Kong and Macao residents (810000, 820000), 238 for Taiwan's (830000).
        DocumentKind(
            "hk_macao_taiwan_residence",
            "港澳台居民居住证",
            "residence permit for Hong Kong, Macao and Taiwan residents",
            ("237", "238"),
            True,
            "derived",
        ),
    )
}


def tax_document_code(id_type: DocumentType, number: str, nationality: str | None) -> str:
    """The tax system's 身份证件类型 code for one holder's document."""
    if id_type == "passport":
        return "227" if nationality == "CHN" else "208"
    if id_type == "hk_macao_taiwan_residence":
        return "238" if number.startswith("830000") else "237"
    return DOCUMENT_KINDS[id_type].tax_codes[0]


@dataclass(frozen=True, slots=True)
class Document:
    """A verified document number and what it says about its holder (None where it says nothing)."""

    id_type: DocumentType
    number: str
    birth_date: date | None = None
    sex: Sex | None = None
    nationality: str | None = None


def normalize_country(value: str) -> str:
    """An ISO 3166-1 alpha-3 country code, upper-cased, that the standard's list has."""
    code = normalize_text(value).upper()
    if not re.fullmatch(r"[A-Z]{3}", code, re.ASCII):
        raise InvalidValue("format", "a nationality is an ISO 3166-1 alpha-3 code like CHN or USA")
    # pycountry carries the ISO 3166-1 list as maintained (Debian's iso-codes).
    if pycountry.countries.get(alpha_3=code) is None:
        raise InvalidValue("unknown_country", f"{code} is not an ISO 3166-1 alpha-3 country code")
    return code


def _gb11643_shaped(number: str, today: date) -> tuple[date, Sex]:
    """Birth date (7th to 14th) and sex (17th) of a GB 11643-shaped number, check verified."""
    born = birth_date_in(number[6:14], today)
    expected = compute_resident_id_check(number[:17])
    if number[17] != expected:
        raise InvalidValue("checksum", f"the check digit should be {expected}, not {number[17]}")
    return born, "male" if int(number[16]) % 2 else "female"


def _foreign_permanent_residence(number: str, today: date) -> Document:
    if _FPR_2023.fullmatch(number):
        # Birth date and sex are read where GB 11643 has them: the NIA's rules say the 2023
        # number follows the citizen number's standard (its table of fields was not at hand).
        born, sex = _gb11643_shaped(number, today)
        return Document("foreign_permanent_residence", number, born, sex)
    old = _FPR_OLD.fullmatch(number)
    if old:
        try:
            nationality = normalize_country(old.group(1))
        except InvalidValue as exc:
            raise InvalidValue(
                "unknown_country",
                "the first 3 letters of an old permanent resident card are the holder's"
                " nationality: " + exc.message,
            ) from None
        return Document("foreign_permanent_residence", number, nationality=nationality)
    raise InvalidValue(
        "format",
        "a foreign permanent resident ID card number has 18 characters beginning with 9"
        " (cards since 2023) or 3 letters and 12 digits (older cards)",
    )


def _residence(number: str, today: date) -> Document:
    if not _RESIDENCE.fullmatch(number):
        raise InvalidValue(
            "format", "a residence permit number has 18 digits (the last may be X), like an ID"
        )
    nationality = _RESIDENCE_REGIONS.get(number[:6])
    if nationality is None:
        raise InvalidValue(
            "region",
            "a residence permit number begins 810000 (Hong Kong), 820000 (Macao)"
            " or 830000 (Taiwan)",
        )
    born, sex = _gb11643_shaped(number, today)
    return Document("hk_macao_taiwan_residence", number, born, sex, nationality)


def parse_document(id_type: DocumentType, value: str, *, today: date | None = None) -> Document:
    """The number normalized and verified by its document type's rules, or InvalidValue."""
    today = today or date.today()
    if id_type == "resident_id":
        parsed = parse_resident_id(value, today=today)
        return Document(id_type, parsed.number, parsed.birth_date, parsed.sex, "CHN")
    number = compact_code(value)
    if id_type == "foreign_permanent_residence":
        return _foreign_permanent_residence(number, today)
    if id_type == "hk_macao_taiwan_residence":
        return _residence(number, today)
    if id_type == "hk_macao_permit":
        if not _HK_MACAO_PERMIT.fullmatch(number):
            raise InvalidValue(
                "format", "a Hong Kong or Macao permit number is H or M and 8 (or 10) digits"
            )
        return Document(id_type, number, nationality=_PERMIT_NATIONALITY[number[0]])
    if id_type == "taiwan_permit":
        if not _TAIWAN_PERMIT.fullmatch(number):
            raise InvalidValue("format", "a Taiwan permit number has 8 (or 10) digits")
        return Document(id_type, number, nationality="TWN")
    if not _PASSPORT.fullmatch(number):
        raise InvalidValue("format", "a passport number has 5 to 20 letters and digits")
    return Document(id_type, number)


Origin = Literal["mainland", "hk_macao_taiwan", "foreign"]
"""Where an investor comes from, as registration and tax systems tell investment apart."""

# Hong Kong, Macao and Taiwan investors are told apart from foreign ones (Foreign Investment Law
# art. 2 and its implementing regulation art. 48: they invest by reference to it, and the 2011
# classification of enterprise registration types keeps them a category of their own).
_HK_MACAO_TAIWAN = frozenset({"HKG", "MAC", "TWN"})


def origin_of(nationality: str | None) -> Origin:
    """An investor's origin from its nationality or region (ISO 3166-1 alpha-3)."""
    if nationality in (None, "CHN"):
        return "mainland"
    return "hk_macao_taiwan" if nationality in _HK_MACAO_TAIWAN else "foreign"


def document_type_of_tax_code(code: str) -> DocumentType | None:
    """The document type a tax system's 身份证件类型 code stands for, if any."""
    for kind in DOCUMENT_KINDS.values():
        if code in kind.tax_codes:
            return kind.id_type
    return None
