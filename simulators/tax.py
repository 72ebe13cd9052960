"""The Tax Bureau's registration system: SOAP that reads and answers GB18030 only."""

from __future__ import annotations

import re
from typing import ClassVar

from aiohttp import web
from lxml import etree

from simulators.checks import valid_credit_code, valid_document
from simulators.ledger import Decision
from simulators.soap import SoapFault, SoapSystem

STATUS = {
    Decision.ACCEPTED: ("SL", "已受理"),
    Decision.IN_REVIEW: ("SH", "审核中"),
    Decision.APPROVED: ("TG", "审核通过"),
    Decision.NEEDS_CORRECTION: ("BZ", "需补正资料"),
    Decision.REJECTED: ("BTG", "不予通过"),
    Decision.CANCELLED: ("CX", "已撤销"),
}
# 登记注册类型: the registration type codes the bureau accepts.
# 登记注册类型: domestic (1xx), Hong Kong/Macao/Taiwan-invested (2xx), foreign-invested (3xx).
REGISTRATION_TYPES = {
    *("159", "160", "171", "172", "173", "174"),
    *("210", "220", "230", "240", "290"),
    *("310", "320", "330", "340", "390"),
}
# 身份证件类型 codes of foreign documents, whose holder's nationality the bureau must record.
FOREIGN_DOCUMENTS = {"208"}
DECLARED = re.compile(rb"^<\?xml[^>]*encoding=['\"]([A-Za-z0-9_-]+)['\"]")


class Tax(SoapSystem):
    """税务登记系统: taxpayer registration for new companies."""

    code: ClassVar[str] = "tax"
    reference_prefix: ClassVar[str] = "SW"
    ns: ClassVar[str] = "http://djxt.etax.example.gov.cn/2010/registration"
    wsdl_name: ClassVar[str] = "tax.wsdl"
    encoding: ClassVar[str] = "GB18030"
    detail: ClassVar[tuple[str, str, str]] = ("FaultDetail", "ErrorCode", "ErrorMessage")
    busy: ClassVar[tuple[str, str]] = ("SW-E9999", "系统繁忙")
    operations: ClassVar[dict[str, str]] = {
        "RegisterTaxpayer": "register",
        "QueryAcceptance": "query",
    }

    async def handle(self, request: web.Request) -> web.Response:
        """Refuse anything not declared GB18030, as the real system does, then serve it."""
        match = DECLARED.match(await request.read())
        if match is None or match.group(1).upper() != b"GB18030":
            return self.fault(SoapFault("soap:Client", "报文编码错误，请使用GB18030", "SW-E0001"))
        return await super().handle(request)

    def register(self, node: etree._Element) -> web.Response:
        """税务登记: checks the credit code, the legal representative's ID and the type code."""
        credit_code = self.text(node, "Nsrsbh")
        if not valid_credit_code(credit_code):
            raise SoapFault("soap:Client", "纳税人识别号校验失败", "SW-E0102")
        id_type = self.text(node, "Fddbrzjlx")
        if not valid_document(id_type, self.text(node, "Fddbrsfzh")):
            raise SoapFault("soap:Client", "法定代表人身份证件类型或号码校验失败", "SW-E0103")
        nationality = self.optional(node, "Fddbrgj")
        if id_type in FOREIGN_DOCUMENTS and not nationality:
            raise SoapFault("soap:Client", "外籍法定代表人须填写国籍", "SW-E0105")
        kind = self.text(node, "Djzclx")
        if kind not in REGISTRATION_TYPES:
            raise SoapFault("soap:Client", f"登记注册类型代码无效: {kind}", "SW-E0104")
        fields: dict[str, object] = {
            "Nsrsbh": credit_code,
            "Nsrmc": self.text(node, "Nsrmc"),
            "Fddbrxm": self.text(node, "Fddbrxm"),
            "Fddbrzjlx": id_type,
            "Fddbrgj": nationality,
            "Zcdz": self.text(node, "Zcdz"),
            "Djzclx": kind,
        }
        case = self.ledger.submit(
            self.text(node, "Lsh"), self.text(node, "Sqbh"), "RegisterTaxpayer", fields
        )
        return self.answer(
            "RegisterTaxpayerResponse",
            {"Slbh": case.reference, "Swjg": "国家税务总局示范市税务局第一税务分局"},
        )

    def query(self, node: etree._Element) -> web.Response:
        """受理状态查询."""
        reference = self.text(node, "Slbh")
        decision = self.decision_of(reference)
        if decision is None:
            raise SoapFault("soap:Client", "受理编号不存在", "SW-E0404")
        code, label = STATUS[decision]
        return self.answer(
            "QueryAcceptanceResponse", {"Slbh": reference, "Zt": code, "Ztms": label}
        )
