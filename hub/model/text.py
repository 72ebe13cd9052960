"""Text as filed: legal text kept character for character, person names tidied, unsafe characters
refused.

Two kinds of text reach the hub. Identifiers, digits, codes and dates are folded with NFKC
(identity.normalize_text): full-width １２ and ＡＢ mean 12 and AB there. Legal text (names of
companies, addresses, business scopes) must match the licence or the filing character for
character, so it gets NFC and white-space tidying only: （）；，：。、 stay full-width.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from hub.model.problems import InvalidValue, Problem

_SPACE = re.compile(r"\s+")  # str patterns match Unicode white space, U+3000 included
_LINE_SPACE = re.compile(r"[^\S\n]+")  # white space other than a line break

MIDDLE_DOT = "\u00b7"
# What input methods and fonts write for the separator of minority and transliterated names
# (阿依古丽·买买提); ID cards and the population register use U+00B7 only.
_NAME_SEPARATORS = re.compile("[\u2022\u30fb\uff0e\u2027\uff65\u2219\u22c5\u0387\u16eb\u00b7]")
# Han ideographs (with extensions and compatibility ones) and 々〇: the characters of a
# Chinese name. Punctuation and U+3000 are not among them.
_HAN = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003ffff"
)
_DOT_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}])\s*\.\s*(?=[{_HAN}])")
_SPACE_IN_HAN_NAME = re.compile(rf"(?<=[{_HAN}{MIDDLE_DOT}]) (?=[{_HAN}{MIDDLE_DOT}])")
_FULL_WIDTH_LATIN = re.compile("[\uff21-\uff3a\uff41-\uff5a]")

# Line breaks a multi-line field may hold; CR is read as a line break (browsers send CRLF).
_TEXT_ALLOWED = frozenset("\n\t\r")


def _problem_with(char: str) -> str | None:
    """Why a character may not be stored or sent, or None if it may.

    Departments' systems are XML (SOAP) and fixed-width databases: a control character breaks
    the first and corrupts the second, and XML 1.0 has no way to carry them at all.
    """
    point = ord(char)
    if point < 0x20 or point == 0x7F:
        return "control_character"
    if 0x80 <= point <= 0x9F:
        return "control_character"  # C1 controls
    if 0xD800 <= point <= 0xDFFF:
        return "invalid_character"  # a lone surrogate: half of a character, not one
    if 0xFDD0 <= point <= 0xFDEF or (point & 0xFFFE) == 0xFFFE:
        return "invalid_character"  # a Unicode non-character (U+FFFE, U+1FFFF, …)
    return None


def unsafe_character(value: str, *, multiline: bool = False) -> InvalidValue | None:
    """The first character of the value no department can take, as an InvalidValue, or None.

    Such characters are refused, never stripped: what was typed must be what is filed.
    Tab and line breaks are allowed only in multi-line text (`multiline`).
    """
    for index, char in enumerate(value):
        code = _problem_with(char)
        if code is None or (multiline and char in _TEXT_ALLOWED):
            continue
        kind = "a control character" if code == "control_character" else "not a character"
        return InvalidValue(
            code, f"U+{ord(char):04X} ({kind}) at position {index + 1} is not allowed"
        )
    return None


def refuse_unsafe(value: str, *, multiline: bool = False) -> str:
    """The value unchanged, or InvalidValue naming its first unsafe character and position."""
    problem = unsafe_character(value, multiline=multiline)
    if problem is not None:
        raise problem
    return value


def _strings(data: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, Mapping):
        for key, item in data.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            yield from _strings(item, (*path, str(index)))


def unsafe_characters(data: Any, prefix: str = "") -> list[Problem]:
    """A problem for every string inside a JSON value that holds an unsafe character."""
    problems = []
    for path, text in _strings(data, (prefix,) if prefix else ()):
        problem = unsafe_character(text)
        if problem is not None:
            problems.append(problem.at(".".join(path)))
    return problems


def legal_text(value: str, *, multiline: bool = False) -> str:
    """Legal text as filed: NFC, ends trimmed, runs of white space made one space; no NFKC.

    Full-width punctuation （）；，：。、 is kept, and so are full-width digits and Latin
    letters: a company name or an address must match its licence character for character,
    and the hub cannot know which spelling the licence has. With `multiline`, line breaks
    are kept (CRLF and CR read as LF), white space is tidied within each line, and blank
    lines at either end are dropped.
    """
    text = unicodedata.normalize("NFC", refuse_unsafe(value, multiline=multiline))
    if not multiline:
        return _SPACE.sub(" ", text).strip()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_LINE_SPACE.sub(" ", line).strip() for line in lines).strip("\n")


def person_name(value: str) -> str:
    """A person's name: separators unified to U+00B7, no spaces in a Chinese name, single
    spaces in a Latin-script one (张　伟 → 张伟, 阿依古丽•买买提 → 阿依古丽·买买提)."""
    text = unicodedata.normalize("NFC", refuse_unsafe(value))
    # Full-width Latin letters are an input-method accident here: passports and permits
    # write Latin names in ASCII, and the name must match them.
    text = _FULL_WIDTH_LATIN.sub(lambda m: chr(ord(m.group()) - 0xFEE0), text)
    text = _NAME_SEPARATORS.sub(MIDDLE_DOT, text)
    # A full stop between Han characters is a separator; between Latin ones (John F. Kennedy)
    # it is an initial's and stays.
    text = _DOT_BETWEEN_HAN.sub(MIDDLE_DOT, text)
    text = _SPACE.sub(" ", text).strip()
    text = re.sub(rf" ?{MIDDLE_DOT} ?", MIDDLE_DOT, text)
    return _SPACE_IN_HAN_NAME.sub("", text)
