"""The Public Security Bureau's household registry: SOAP 1.1 with WS-Security UsernameToken."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

from aiohttp import web
from lxml import etree

from simulators.checks import valid_credit_code, valid_document, valid_resident_id
from simulators.ledger import FINAL, Decision
from simulators.soap import SoapFault, SoapSystem

STATUS = {
    Decision.ACCEPTED: ("01", "已受理"),
    Decision.IN_REVIEW: ("02", "审核中"),
    Decision.APPROVED: ("03", "已办结"),
    Decision.NEEDS_CORRECTION: ("04", "退回补正"),
    Decision.REJECTED: ("05", "不予受理"),
    Decision.CANCELLED: ("09", "已撤销"),
}
REASONS = {"01", "02", "03", "04", "05", "99"}
SEAL_KINDS = {"01", "02", "03", "04", "05"}
MAX_DAYS_AHEAD = 90


class PublicSecurity(SoapSystem):
    """户籍管理系统: household transfers and seal engraving filings."""

    code: ClassVar[str] = "public_security"
    reference_prefix: ClassVar[str] = "GA"
    ns: ClassVar[str] = "http://hjxt.gaj.example.gov.cn/2008/household"
    wsdl_name: ClassVar[str] = "public_security.wsdl"
    detail: ClassVar[tuple[str, str, str]] = ("ErrorInfo", "Code", "Message")
    busy: ClassVar[tuple[str, str]] = ("PS-9001", "系统繁忙，请稍后再试")
    operations: ClassVar[dict[str, str]] = {
        "SubmitTransferRequest": "submit_transfer",
        "SubmitSealRequest": "submit_seal",
        "QueryCaseRequest": "query_case",
        "FindByRequestIdRequest": "find_by_request_id",
        "CancelCaseRequest": "cancel_case",
    }

    def _submit(
        self, node: etree._Element, operation: str, fields: dict[str, object]
    ) -> web.Response:
        trace = node.find(f"{{{self.ns}}}Trace")
        if trace is None:
            raise SoapFault("soap:Client", "Trace is required", "PS-1000")
        case = self.ledger.submit(
            self.text(trace, "RequestId"), self.text(trace, "ApplicationId"), operation, fields
        )
        accepted = datetime.now(UTC).replace(microsecond=0).isoformat()
        return self.answer("SubmitResponse", {"CaseNo": case.reference, "AcceptedAt": accepted})

    def submit_transfer(self, node: etree._Element) -> web.Response:
        """户口迁入: the ID number is checked, the move date must be within 90 days."""
        id_number = self.text(node, "IdNumber")
        if not valid_resident_id(id_number):
            raise SoapFault("soap:Client", "身份证号码校验失败", "PS-1001")
        try:
            move_date = date.fromisoformat(self.text(node, "MoveDate")[:10])
        except ValueError as exc:
            raise SoapFault("soap:Client", "迁入日期格式错误", "PS-1000") from exc
        if move_date > date.today() + timedelta(days=MAX_DAYS_AHEAD):
            raise SoapFault("soap:Client", "迁入日期超出受理范围（90日内）", "PS-1002")
        reason = self.text(node, "Reason")
        if reason not in REASONS:
            raise SoapFault("soap:Client", f"迁移原因代码无效: {reason}", "PS-1003")
        fields: dict[str, object] = {
            "IdNumber": id_number,
            "MoveDate": move_date.isoformat(),
            "Reason": reason,
        }
        for name in ("Name", "FromAddress", "ToAddress"):
            fields[name] = self.text(node, name)
        return self._submit(node, "SubmitTransfer", fields)

    def submit_seal(self, node: etree._Element) -> web.Response:
        """印章刻制备案: needs a valid credit code and known seal kinds."""
        credit_code = self.text(node, "CreditCode")
        if not valid_credit_code(credit_code):
            raise SoapFault("soap:Client", "统一社会信用代码校验失败", "PS-2001")
        kinds = [k.text or "" for k in node.findall(f"{{{self.ns}}}SealKind")]
        if not kinds or not set(kinds) <= SEAL_KINDS:
            raise SoapFault("soap:Client", f"印章种类代码无效: {kinds}", "PS-2002")
        # Seals are filed for any company whose legal representative holds a document the
        # police know: resident ID, passport, permits, permanent residence, residence permit.
        if not valid_document(
            self.text(node, "LegalRepIdType"), self.text(node, "LegalRepIdNumber")
        ):
            raise SoapFault("soap:Client", "法定代表人身份证件类型或号码校验失败", "PS-1001")
        fields: dict[str, object] = {
            "CreditCode": credit_code,
            "SealKind": kinds,
            "CompanyName": self.text(node, "CompanyName"),
            "LegalRepIdType": self.text(node, "LegalRepIdType"),
        }
        return self._submit(node, "SubmitSeal", fields)

    def query_case(self, node: etree._Element) -> web.Response:
        """The case's status code and text."""
        case_no = self.text(node, "CaseNo")
        decision = self.decision_of(case_no)
        if decision is None:
            raise SoapFault("soap:Client", "案件不存在", "PS-3004")
        code, label = STATUS[decision]
        values = {"CaseNo": case_no, "StatusCode": code, "StatusText": label}
        if decision is Decision.NEEDS_CORRECTION:
            values["Remark"] = "请补充迁入地住房证明"
        return self.answer("QueryCaseResponse", values)

    def find_by_request_id(self, node: etree._Element) -> web.Response:
        """Lookup by the caller's request id."""
        case = self.ledger.find(self.text(node, "RequestId"))
        values: dict[str, object] = {"Found": case is not None}
        if case is not None:
            values["CaseNo"] = case.reference
        return self.answer("FindByRequestIdResponse", values)

    def cancel_case(self, node: etree._Element) -> web.Response:
        """撤销: only a case not yet decided can be withdrawn."""
        case = self.ledger.cases.get(self.text(node, "CaseNo"))
        if case is None:
            raise SoapFault("soap:Client", "案件不存在", "PS-3004")
        if case.decision(self.decisions) in FINAL:
            raise SoapFault("soap:Client", "案件已办结，不能撤销", "PS-3001")
        case.forced = Decision.CANCELLED
        return self.answer("CancelCaseResponse", {"CaseNo": case.reference, "StatusCode": "09"})
