"""Chinese identity data, normalized: text, resident ID numbers, credit codes, phones and dates.

The other identity documents (passports, permits, residence cards) are in hub.model.documents.
Checked against python-stdnum in the tests (stdnum.cn.ric, stdnum.cn.uscc), not used here: the
hub's rules go further (region, wrong document type, authority, organization code) and its
problems need codes and sentences of their own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from hub.model.phones import parse_phone
from hub.model.problems import InvalidValue

_SPACE = re.compile(r"\s+")  # str patterns match Unicode white space, U+3000 included

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits, check "10X98765432"[sum % 11].
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# ASCII digits only: str.isdigit() and \d also accept Arabic-Indic, Devanagari … digits, which
# NFKC leaves alone and which must never reach a department's system.
_ID_18 = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_ID_15 = re.compile(r"[0-9]{15}", re.ASCII)
_DIGITS_17 = re.compile(r"[0-9]{17}", re.ASCII)
_EARLIEST_BIRTH_YEAR = 1880
# GB 11643-1999 §5.1 with GB/T 2260: a region code's first digit is a province's region, 1 to 8.
_REGION_FIRST = frozenset("12345678")
# GB/T 2260 gives 81 to Hong Kong and 82 to Macao, and the residence permits use 830000 for
# Taiwan: numbers that begin so are residence permits, never resident identity cards.
_RESIDENCE_PERMIT_REGIONS = ("810000", "820000", "830000")

# GB 32100-2015: 31 characters (no I, O, Z, S, V), weights 3^i mod 31.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 32100-2015 table 1 and the codes assigned under it since (2 foreign affairs, 3 justice,
# 4 culture, 6 tourism, 7 religion, 8 trade unions, A military, N agriculture): the registering
# authority (1st character) and the organization types (2nd character) it may register.
CREDIT_CODE_AUTHORITIES: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 编办直管的群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国和港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商 (市场监管): 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他: one type only
}
# GB 11714-1997: the organization code's 8 characters weighted 3,7,9,10,5,8,4,2; letters count
# A=10 … Z=35 (the whole alphabet, unlike the credit code's own 31-character set).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def normalize_text(value: str) -> str:
    """NFKC (full-width to half-width), trimmed, every run of white space made one space.

    For identifiers, digits, codes and dates only: legal text (company names, addresses,
    business scopes) keeps its full-width punctuation and goes through text.legal_text.
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def compact_code(value: str) -> str:
    """NFKC, upper-cased, with every space taken out (numbers are often typed in groups)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


def compute_resident_id_check(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    if not _DIGITS_17.fullmatch(first17):
        raise ValueError("the check character is computed from exactly 17 ASCII digits")
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A verified 18-digit resident ID number and what it says about its holder."""

    number: str
    birth_date: date
    sex: Literal["male", "female"]


def birth_date_in(digits: str, today: date) -> date:
    """The YYYYMMDD birth date inside a number, if it is a real day that has already come."""
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidValue(
            "birth_date", f"the birth date {digits} in the number is not a day of the calendar"
        ) from None
    if born > today:
        raise InvalidValue(
            "birth_date", f"the birth date {born.isoformat()} in the number is in the future"
        )
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidValue(
            "birth_date", f"the birth date {born.isoformat()} in the number is impossible"
        )
    return born


def _resident_region(number: str) -> None:
    """Refuse numbers whose region cannot be a mainland resident's, naming the right document."""
    if len(number) == 18 and number[0] == "9":
        # NIA 2023 rules for the new foreign permanent resident ID card: its numbers begin with 9
        # precisely so that they are told apart from resident ID numbers.
        raise InvalidValue(
            "wrong_document_type",
            "an 18-character number beginning with 9 is a foreign permanent resident ID card:"
            " send it with id_type foreign_permanent_residence",
        )
    if len(number) == 18 and number.startswith(_RESIDENCE_PERMIT_REGIONS):
        raise InvalidValue(
            "wrong_document_type",
            "a number beginning 810000, 820000 or 830000 is a residence permit for Hong Kong,"
            " Macao or Taiwan residents: send it with id_type hk_macao_taiwan_residence",
        )
    if number[0] not in _REGION_FIRST:
        raise InvalidValue(
            "region", "a resident ID number begins with a region code whose first digit is 1 to 8"
        )


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Verify an 18-digit number (check digit) or convert a 15-digit legacy one to 18 digits."""
    number = compact_code(value)
    today = today or date.today()
    if _ID_15.fullmatch(number) or _ID_18.fullmatch(number):
        _resident_region(number)
    if _ID_15.fullmatch(number):
        # Legacy numbers (issued before 1999) have a 2-digit year, always 19xx, and no check digit.
        first17 = number[:6] + "19" + number[6:]
        born = birth_date_in(first17[6:14], today)
        number = first17 + compute_resident_id_check(first17)
    elif _ID_18.fullmatch(number):
        born = birth_date_in(number[6:14], today)
        expected = compute_resident_id_check(number[:17])
        if number[17] != expected:
            raise InvalidValue(
                "checksum", f"the check digit should be {expected}, not {number[17]}"
            )
    else:
        raise InvalidValue(
            "format",
            "a resident ID number has 18 digits (the last may be X), or 15 digits for old ones",
        )
    # The last digit of the sequence number (the 17th character) is odd for men, even for women.
    return ResidentId(number, born, "male" if int(number[16]) % 2 else "female")


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in CREDIT_CODE_CHARS for c in first17):
        raise ValueError(
            f"the check character is computed from exactly 17 characters of {CREDIT_CODE_CHARS}"
        )
    total = sum(
        CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def organization_code_check_char(first8: str) -> str:
    """The GB 11714 check character (0-9 or X) of an organization code's first 8 characters."""
    if len(first8) != 8 or any(c not in _ORG_VALUES for c in first8):
        raise ValueError("the check character is computed from exactly 8 digits and capitals")
    total = sum(_ORG_VALUES.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "0" if check == 11 else "X" if check == 10 else str(check)


def normalize_credit_code(value: str) -> str:
    """A unified social credit code, upper-cased, its GB 32100 structure and checks verified.

    The check character is tested first (a typing mistake is the likeliest fault), then the
    registering authority and organization type, the region code and the embedded organization
    code's own GB 11714 check character.
    """
    code = compact_code(value)
    if len(code) != 18 or any(c not in CREDIT_CODE_CHARS for c in code):
        raise InvalidValue(
            "format",
            "a unified social credit code has 18 digits and capital letters (no I, O, Z, S, V)",
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidValue("checksum", f"the check character should be {expected}, not {code[17]}")
    types = CREDIT_CODE_AUTHORITIES.get(code[0])
    if types is None:
        raise InvalidValue(
            "authority",
            "the first character is the registering authority: one of "
            + ", ".join(CREDIT_CODE_AUTHORITIES),
        )
    if code[1] not in types:
        raise InvalidValue(
            "organization_type",
            f"the second character is the organization type, one of {', '.join(types)}"
            f" for registering authority {code[0]}",
        )
    # GB 32100-2015: characters 3 to 8 are the registering office's GB/T 2260 region code.
    if any(c not in "0123456789" for c in code[2:8]):
        raise InvalidValue("region", "characters 3 to 8 are a region code of 6 digits")
    # GB 32100-2015: characters 9 to 17 are the GB 11714 organization code, check included.
    org_check = organization_code_check_char(code[8:16])
    if code[16] != org_check:
        raise InvalidValue(
            "organization_code",
            f"the organization code (characters 9 to 17) should end in {org_check}, not {code[16]}",
        )
    return code


def normalize_phone(value: str, region: str = "CN") -> str:
    """A phone number in E.164 (+86…), with ;ext= if it has an extension (hub.model.phones)."""
    return parse_phone(value, region).value


# A small hand-written parser rather than dateutil: dateutil guesses at ambiguous shapes (is
# 05/11/2024 May or November?) and does not read 年月日; these few shapes, year first, are all
# the windows ever send, and anything else should be refused rather than guessed.
_DATE_SHAPES = tuple(
    re.compile(shape, re.ASCII)
    for shape in (
        r"(\d{4})(\d{2})(\d{2})",
        r"(\d{4})-(\d{1,2})-(\d{1,2})",
        r"(\d{4})/(\d{1,2})/(\d{1,2})",
        r"(\d{4})\.(\d{1,2})\.(\d{1,2})",
        r"(\d{4})年(\d{1,2})月(\d{1,2})日?",
    )
)


def parse_date(value: str | date) -> date:
    """A date from 20241105, 2024-11-05, 2024/11/5, 2024.11.5 or 2024年11月5日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _SPACE.sub("", unicodedata.normalize("NFKC", value))
    for shape in _DATE_SHAPES:
        match = shape.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise InvalidValue("invalid_date", f"{text} is not a day of the calendar") from None
    raise InvalidValue("format", "not a date; write it like 2024-11-05, 20241105 or 2024年11月5日")
