"""Tax Bureau (税务登记系统): SOAP that reads and answers GB18030 only."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from adapters.mapping import code_of, document_code, needed, organization, state_of
from hub import hookimpl
from hub.model.catalog import Step
from hub.model.record import ApplicationRecord, Organization
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    DepartmentStatus,
    Payload,
    Receipt,
)
from hub.transports.soap import SoapAdapter

# 登记注册类型 codes (国家统计局、国家工商总局《关于划分企业登记注册类型的规定》, 2011): by the
# Company Law form, the company's foreign investment and, for a limited liability company,
# whether mainland investors take part (a joint venture) or not (wholly owned). Investment from
# Hong Kong, Macao and Taiwan has codes of its own (2xx), apart from foreign investment (3xx).
REGISTRATION_TYPES = {
    "limited_liability/mainland": "159",  # 其他有限责任公司
    "joint_stock/mainland": "160",  # 股份有限公司
    "sole_proprietorship/mainland": "171",  # 私营独资企业
    "partnership/mainland": "172",  # 私营合伙企业
    "limited_liability/hk_macao_taiwan/joint": "210",  # 合资经营企业（港或澳、台资）
    "limited_liability/hk_macao_taiwan/sole": "230",  # 港、澳、台商独资经营企业
    "joint_stock/hk_macao_taiwan/joint": "240",  # 港、澳、台商投资股份有限公司
    "joint_stock/hk_macao_taiwan/sole": "240",
    "limited_liability/foreign/joint": "310",  # 中外合资经营企业
    "limited_liability/foreign/sole": "330",  # 外资企业
    "joint_stock/foreign/joint": "340",  # 外商投资股份有限公司
    "joint_stock/foreign/sole": "340",
}


def registration_type(company: Organization, company_type: str) -> str:
    """The 登记注册类型 code of a company being registered."""
    kind = f"{company_type}/{company.foreign_investment}"
    if company.foreign_investment != "mainland":
        kind += "/joint" if company.with_mainland_investors else "/sole"
    return code_of(REGISTRATION_TYPES, kind, "company type and investment")


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
        legal = company.legal_representative
        form = record.form
        return self.envelope(
            "RegisterTaxpayer",
            Lsh=context.delivery_key,
            Sqbh=context.application_id,
            Nsrsbh=needed(context.inputs, "credit_code"),
            Nsrmc=form["company_name"],
            Fddbrxm=legal.name,
            Fddbrzjlx=document_code(legal),
            Fddbrsfzh=legal.id_number,
            Fddbrgj=legal.nationality,
            Zcdz=form["business_address"],
            Jyfw=form["business_scope"],
            Djzclx=registration_type(company, form["company_type"]),
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
