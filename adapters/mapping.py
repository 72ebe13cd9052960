"""Small mapping helpers the built-in adapters share: applicant kinds, code tables, formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.model.documents import tax_document_code
from hub.model.phones import national_phone
from hub.model.record import (
    ApplicationRecord,
    LegalRepresentative,
    Organization,
    Person,
    PersonInvestor,
)
from hub.plugin.adapter import DepartmentState, PermanentError, TransientError


def person(record: ApplicationRecord) -> Person:
    """The applicant as a person, or a permanent error naming the mismatch."""
    if not isinstance(record.applicant, Person):
        raise PermanentError("payload_invalid", "this step needs a person as applicant")
    return record.applicant


def organization(record: ApplicationRecord) -> Organization:
    """The applicant as an organization, or a permanent error naming the mismatch."""
    if not isinstance(record.applicant, Organization):
        raise PermanentError("payload_invalid", "this step needs an organization as applicant")
    return record.applicant


def code_of(table: Mapping[str, str], value: Any, what: str) -> str:
    """A value through a department's code table; a value it has no code for is permanent."""
    try:
        return table[str(value)]
    except KeyError:
        raise PermanentError(
            "payload_invalid", f"{what} {value!r} has no code in this department's table"
        ) from None


def needed(inputs: Mapping[str, Any], name: str) -> str:
    """An input from an earlier step; its absence is a configuration fault, named clearly."""
    value = inputs.get(name)
    if value in (None, ""):
        raise PermanentError(
            "input_missing", f"the step needs {name!r} from an earlier step, which gave none"
        )
    return str(value)


def document_code(holder: LegalRepresentative | Person | PersonInvestor) -> str:
    """The holder's document type as government systems code it (身份证件类型: 201, 208, …)."""
    return tax_document_code(holder.id_type, holder.id_number, holder.nationality)


def national_mobile(e164: str | None) -> str:
    """The number as dialled within China (hub.model.phones.national_phone).

    Kept for adapters written against it: stripping +86 alone, as it once did, turned the
    landline +8657188888888 into 57188888888, without its trunk 0.
    """
    return national_phone(e164)


def yyyymmdd(iso_date: str) -> str:
    """2024-11-05 → 20241105."""
    return iso_date.replace("-", "")


def state_of(table: Mapping[str, DepartmentState], code: str, what: str) -> DepartmentState:
    """A department's status code in the hub's vocabulary; an unknown code is not guessed at."""
    try:
        return table[code]
    except KeyError:
        raise TransientError(
            "unknown_status",
            f"{what} answered status code {code!r}, which the adapter does not know",
        ) from None
