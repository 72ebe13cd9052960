"""Social Insurance Center (社会保险业务网关): legacy form posts, HTTP 200 with {"code", "msg"}."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from adapters.mapping import (
    code_of,
    document_code,
    needed,
    organization,
    person,
    state_of,
    yyyymmdd,
)
from hub import hookimpl
from hub.model.catalog import Step
from hub.model.phones import national_phone
from hub.model.record import ApplicationRecord
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    DepartmentStatus,
    Payload,
    PermanentError,
    Receipt,
    TransientError,
)
from hub.transports.rest import RestAdapter, RestResponse

OK = "0000"
# Codes that mean "not now": E9xx is the gateway busy or timing out; E401 is refused credentials,
# which an operator must mend, not the applicant.
TRANSIENT_CODES = ("E9", "E401")
BANKS = {"icbc": "102", "abc": "103", "boc": "104", "ccb": "105", "bocom": "301"}
STATES = {
    "1": DepartmentState.SUBMITTED,
    "2": DepartmentState.IN_REVIEW,
    "3": DepartmentState.APPROVED,
    "4": DepartmentState.NEEDS_CORRECTION,
    "5": DepartmentState.REJECTED,
    "9": DepartmentState.CANCELLED,
}
GATEWAY = "/gateway.do"


class SocialSecurityAdapter(RestAdapter):
    """Insurance transfers, employer registrations and card applications."""

    name: ClassVar[str] = "social_security"
    auth = "basic"
    idempotency_header = None  # the gateway takes the caller's serial as the qqlsh field
    operations: ClassVar[frozenset[str]] = frozenset(
        {"insurance_transfer", "employer_registration", "card_application"}
    )

    def _form(self, service: str, **fields: str) -> Payload:
        return self.form_payload("POST", GATEWAY, {"service": service, **fields})

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        trace = {"qqlsh": context.delivery_key, "sqbh": context.application_id}
        form = record.form
        if step.operation == "employer_registration":
            company = organization(record)
            return self._form(
                "dwdj",
                **trace,
                dwmc=form["company_name"],
                tyshxydm=needed(context.inputs, "credit_code"),
                fddbr=company.legal_representative.name,
                fddbrzjlx=document_code(company.legal_representative),
                fddbrzjhm=company.legal_representative.id_number,
                cyrs=str(form["employees"]),
                # Deliveries filed before the registration gave its date have no founded_on.
                clrq=yyyymmdd(context.inputs.get("founded_on") or date.today().isoformat()),
            )
        applicant = person(record)
        insured = {
            "xm": applicant.name,
            "sfzh": applicant.id_number,
            # 联系电话 as dialled within China: a landline keeps its trunk 0 (057188888888).
            "lxdh": national_phone(applicant.phone),
        }
        if step.operation == "insurance_transfer":
            return self._form(
                "cbdj.zr",
                **trace,
                **insured,
                rq=yyyymmdd(form["move_date"]),
                hjbh=needed(context.inputs, "household_case_no"),
            )
        return self._form(
            "sbk.sq",
            **trace,
            **insured,
            yhdm=code_of(BANKS, form["bank"], "bank"),
            yjdz=form.get("mailing_address") or "",
        )

    def check_body(self, response: RestResponse) -> None:
        """The gateway always answers 200: the verdict is the body's code."""
        body = response.json()
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        if code == OK:
            return
        message = str(body.get("msg", "")) if isinstance(body, dict) else ""
        if not code:
            raise TransientError("malformed_response", "the answer has no code", http_status=200)
        if code.startswith(TRANSIENT_CODES):
            raise TransientError(code, message, http_status=200)
        raise PermanentError(code, message, http_status=200)

    def receipt_from(self, response: RestResponse) -> Receipt:
        reference = response.json()["data"]["ywlsh"]
        return Receipt(reference, {"serial_no": reference})

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        data = (await self.request(self._form("yw.cx", ywlsh=receipt.reference))).json()["data"]
        return DepartmentStatus(
            state_of(STATES, data["blzt"], self.department.code),
            code=data["blzt"],
            message=" ".join(filter(None, [data.get("blztmc"), data.get("bz")])),
        )

    async def lookup(self, delivery_key: str) -> Receipt | None:
        data = (await self.request(self._form("yw.lshcx", qqlsh=delivery_key))).json()["data"]
        return Receipt(data["ywlsh"], {"serial_no": data["ywlsh"]}) if data.get("ywlsh") else None

    async def cancel(self, receipt: Receipt) -> None:
        await self.request(self._form("yw.qx", ywlsh=receipt.reference))


@hookimpl
def hub_adapters() -> list[type[Adapter]]:
    """Offer the Social Insurance Center adapter."""
    return [SocialSecurityAdapter]
