"""Characters a department's system can store: what its charset cannot encode, field by field.

Many legacy systems store GBK or GB2312 and keep a character outside it (𠮷, 䶮) as `?`: a name
on a licence or an insurance record would then be wrong. The hub finds such characters at intake
and does what the department's `[text]` setting says: refuse the filing with a clear problem, or
take it and flag the department's delivery for the operators with the exact characters.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from typing import Any

from hub.model.problems import Problem


def known_charset(name: str) -> str:
    """A charset Python can encode, by its canonical name; ValueError if there is none."""
    try:
        return codecs.lookup(name).name.upper()
    except LookupError:
        raise ValueError(
            f"{name!r} is not a charset the hub knows (GBK, GB2312, GB18030, UTF-8…)"
        ) from None


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string within a record's JSON, with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}.{index}")


def unrepresentable(record: Mapping[str, Any], charset: str) -> dict[str, str]:
    """The characters of each text of the record (applicant and form) the charset cannot encode,
    each once, in order, by field path; empty when the department can store everything."""
    found: dict[str, str] = {}
    for part in ("applicant", "form"):
        for path, text in _texts(record.get(part), part):
            # Most text is ASCII or common Chinese: encode the whole first, characters only if
            # the whole fails.
            try:
                text.encode(charset)
                continue
            except UnicodeEncodeError:
                pass
            missing = "".join(dict.fromkeys(c for c in text if not _encodes(c, charset)))
            if missing:
                found[path] = missing
    return found


def _encodes(char: str, charset: str) -> bool:
    try:
        char.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def refusals(found: Mapping[str, str], department: str, charset: str) -> list[Problem]:
    """The problems that refuse a filing with characters a department cannot store."""
    return [
        Problem(
            field,
            "unrepresentable_character",
            f"{department} stores text in {charset} and cannot store "
            + ", ".join(f"{c} (U+{ord(c):04X})" for c in chars)
            + ": use the form registered with it, or file at its own counter",
            message_zh=f"{department}的系统（{charset}）无法存储：{'、'.join(chars)}；"
            "请使用其登记的写法，或到该部门窗口办理",
        )
        for field, chars in found.items()
    ]
