"""The departments' own checks of identity numbers: they trust nobody, the hub included."""

from __future__ import annotations

from hub.model.documents import document_type_of_tax_code, parse_document
from hub.model.identity import compute_resident_id_check, credit_code_check_char
from hub.model.problems import InvalidValue


def valid_resident_id(value: str) -> bool:
    """A department's check of an 18-digit resident ID number."""
    return (
        len(value) == 18
        and value[:17].isdigit()
        and compute_resident_id_check(value[:17]) == value[17]
    )


def valid_credit_code(value: str) -> bool:
    """A department's check of a unified social credit code."""
    try:
        return len(value) == 18 and credit_code_check_char(value[:17]) == value[17]
    except (KeyError, ValueError):
        return False


def valid_document(code: str, number: str, accepted: frozenset[str] | None = None) -> bool:
    """A department's check of a document by its 身份证件类型 code (and the codes it takes)."""
    id_type = document_type_of_tax_code(code)
    if id_type is None or (accepted is not None and code not in accepted):
        return False
    try:
        return parse_document(id_type, number).number == number
    except InvalidValue:
        return False


def stored_in(charset: str, text: str | None) -> str | None:
    """Text as a legacy system stores it: a character outside its charset becomes "?"."""
    return None if text is None else text.encode(charset, "replace").decode(charset)
