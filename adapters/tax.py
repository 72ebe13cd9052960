"""Tax Bureau (税务登记系统): SOAP that reads and answers GB18030 only."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from adapters.mapping import code_of, needed, organization, state_of
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

# 登记注册类型 codes for the hub's company types.
REGISTRATION_TYPES = {
    "limited_liability": "159",
    "joint_stock": "160",
    "sole_proprietorship": "171",
    "partnership": "172",
    "foreign_invested": "300",
}
STATES = {
    "SL": DepartmentState.SUBMITTED,
    "SH": DepartmentState.IN_REVIEW,
    "TG": DepartmentState.APPROVED,
    "BZ": DepartmentState.NEEDS_CORRECTION,
    "BTG": DepartmentState.REJECTED,
    "CX": DepartmentState.CANCELLED,
}


class TaxAdapter(SoapAdapter):
    """Taxpayer registration of new companies at the Tax Bureau."""

    name: ClassVar[str] = "tax"
    wsdl: ClassVar[Path] = Path(__file__).parent / "wsdl" / "tax.wsdl"
    encoding: ClassVar[str] = "GB18030"
    operations: ClassVar[frozenset[str]] = frozenset({"taxpayer_registration"})

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        company = organization(record)
        form = record.form
        return self.envelope(
            "RegisterTaxpayer",
            Lsh=context.delivery_key,
            Sqbh=context.application_id,
            Nsrsbh=needed(context.inputs, "credit_code"),
            Nsrmc=form["company_name"],
            Fddbrxm=company.legal_representative.name,
            Fddbrsfzh=company.legal_representative.id_number,
            Zcdz=form["business_address"],
            Jyfw=form["business_scope"],
            Djzclx=code_of(REGISTRATION_TYPES, form["company_type"], "company type"),
        )

    def receipt_from(self, operation: str, result: Any) -> Receipt:
        return Receipt(result.Slbh, {"tax_office": result.Swjg})

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        result = await self.call(self.envelope("QueryAcceptance", Slbh=receipt.reference))
        return DepartmentStatus(
            state_of(STATES, result.Zt, self.department.code), code=result.Zt, message=result.Ztms
        )


@hookimpl
def hub_adapters() -> list[type[Adapter]]:
    """Offer the Tax Bureau adapter."""
    return [TaxAdapter]
