"""The departments' own checks of identity numbers: they trust nobody, the hub included."""

from __future__ import annotations

from hub.model.identity import compute_resident_id_check, credit_code_check_char


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
