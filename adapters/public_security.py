"""Public Security Bureau (户籍管理系统): SOAP 1.1, WS-Security UsernameToken, lookup and cancel."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from adapters.mapping import code_of, document_code, needed, organization, person, state_of
from hub import hookimpl
from hub.model.catalog import Step
from hub.model.record import ApplicationRecord
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    DepartmentStatus,
    Payload,
    Receipt,
)
from hub.transports.soap import SoapAdapter

REASONS = {
    "employment": "01",
    "marriage": "02",
    "study": "03",
    "talent_introduction": "04",
    "relatives": "05",
    "other": "99",
}
SEAL_KINDS = {
    "official": "01",
    "finance": "02",
    "contract": "03",
    "invoice": "04",
    "legal_rep": "05",
}
STATES = {
    "01": DepartmentState.SUBMITTED,
    "02": DepartmentState.IN_REVIEW,
    "03": DepartmentState.APPROVED,
    "04": DepartmentState.NEEDS_CORRECTION,
    "05": DepartmentState.REJECTED,
    "09": DepartmentState.CANCELLED,
}


class PublicSecurityAdapter(SoapAdapter):
    """Household transfers and seal engraving filings at the Public Security Bureau."""

    name: ClassVar[str] = "public_security"
    wsdl: ClassVar[Path] = Path(__file__).parent / "wsdl" / "public_security.wsdl"
    operations: ClassVar[frozenset[str]] = frozenset({"household_transfer", "seal_engraving"})

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        trace = {"RequestId": context.delivery_key, "ApplicationId": context.application_id}
        form = record.form
        if step.operation == "household_transfer":
            applicant = person(record)
            return self.envelope(
                "SubmitTransfer",
                Trace=trace,
                Name=applicant.name,
                IdNumber=applicant.id_number,
                Phone=applicant.phone,
                FromAddress=form["from_address"],
                ToAddress=form["to_address"],
                Reason=code_of(REASONS, form["reason"], "reason"),
                MoveDate=date.fromisoformat(form["move_date"]),
            )
        company = organization(record)
        kinds = str(form.get("seal_kinds") or "official").split(",")
        return self.envelope(
            "SubmitSeal",
            Trace=trace,
            CompanyName=form["company_name"],
            CreditCode=needed(context.inputs, "credit_code"),
            LegalRepName=company.legal_representative.name,
            LegalRepIdType=document_code(company.legal_representative),
            LegalRepIdNumber=company.legal_representative.id_number,
            SealKind=[code_of(SEAL_KINDS, kind, "seal kind") for kind in kinds],
        )

    def receipt_from(self, operation: str, result: Any) -> Receipt:
        return Receipt(result.CaseNo, {"case_no": result.CaseNo})

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        result = await self.call(self.envelope("QueryCase", CaseNo=receipt.reference))
        return DepartmentStatus(
            state_of(STATES, result.StatusCode, self.department.code),
            code=result.StatusCode,
            message=" ".join(filter(None, [result.StatusText, result.Remark])),
        )

    async def lookup(self, delivery_key: str) -> Receipt | None:
        result = await self.call(self.envelope("FindByRequestId", RequestId=delivery_key))
        return Receipt(result.CaseNo, {"case_no": result.CaseNo}) if result.Found else None

    async def cancel(self, receipt: Receipt) -> None:
        await self.call(self.envelope("CancelCase", CaseNo=receipt.reference, Reason="申请人撤回"))


@hookimpl
def hub_adapters() -> list[type[Adapter]]:
    """Offer the Public Security Bureau adapter."""
    return [PublicSecurityAdapter]
