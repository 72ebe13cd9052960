"""Market Regulation Administration (企业登记系统): JSON REST; assigns the credit code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from adapters.mapping import code_of, document_code, organization, state_of
from hub import hookimpl
from hub.model.catalog import Matter, Step
from hub.model.problems import Problem
from hub.model.record import ApplicationRecord, Organization, OrganizationInvestor
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentState,
    DepartmentStatus,
    Payload,
    Receipt,
    TransientError,
)
from hub.transports.rest import RestAdapter, RestResponse

# 企业类型 codes of the registration system, by the Company Law form and the company's foreign
# investment (derived from its investors): 5xxx foreign-invested, 6xxx invested from Hong Kong,
# Macao or Taiwan. Sole proprietorships and partnerships have no foreign-invested code here: a
# foreign-invested enterprise takes a Company Law form (Foreign Investment Law art. 31).
ENTERPRISE_TYPES = {
    "limited_liability/mainland": "1100",
    "joint_stock/mainland": "1200",
    "sole_proprietorship/mainland": "4000",
    "partnership/mainland": "4200",
    "limited_liability/foreign": "5100",
    "joint_stock/foreign": "5200",
    "limited_liability/hk_macao_taiwan": "6100",
    "joint_stock/hk_macao_taiwan": "6200",
}
STATES = {
    "ACCEPTED": DepartmentState.SUBMITTED,
    "REVIEWING": DepartmentState.IN_REVIEW,
    "APPROVED": DepartmentState.APPROVED,
    "CORRECTION_REQUIRED": DepartmentState.NEEDS_CORRECTION,
    "REJECTED": DepartmentState.REJECTED,
    "WITHDRAWN": DepartmentState.CANCELLED,
}


def _outputs(body: Mapping[str, Any]) -> dict[str, Any]:
    """The credit code and founding date, given once registration is approved (a credit code
    exists only then); the licence's date is the founding date (市场主体登记管理条例 art. 21)."""
    given = {"credit_code": body.get("creditCode"), "founded_on": body.get("establishedOn")}
    return {name: value for name, value in given.items() if value is not None}


def _receipt(body: dict[str, Any]) -> Receipt:
    return Receipt(body["registrationNo"], _outputs(body))


def _investors(company: Organization) -> list[dict[str, Any]]:
    """Each investor as the registration system lists 股东 (出资人): identity and contribution."""
    listed: list[dict[str, Any]] = []
    for investor in company.investors:
        if isinstance(investor, OrganizationInvestor):
            listed.append(
                {
                    "type": "organization",
                    "name": investor.name,
                    "country": investor.country,
                    "creditCode": investor.credit_code,
                    "registrationNo": investor.registration_number,
                    "contribution": investor.contribution,
                }
            )
        else:
            listed.append(
                {
                    "type": "person",
                    "name": investor.name,
                    "idType": document_code(investor),
                    "idNumber": investor.id_number,
                    "nationality": investor.nationality,
                    "contribution": investor.contribution,
                }
            )
    return listed


class MarketRegulationAdapter(RestAdapter):
    """Company registration; its receipt carries the new unified social credit code."""

    name: ClassVar[str] = "market_regulation"
    auth = "bearer"
    operations: ClassVar[frozenset[str]] = frozenset({"company_registration"})

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        company = organization(record)
        form = record.form
        legal = company.legal_representative
        kind = f"{form['company_type']}/{company.foreign_investment}"
        enterprise = {
            "name": form["company_name"],
            "type": code_of(ENTERPRISE_TYPES, kind, "company type and investment"),
            "registeredCapital": form["registered_capital"],
            "address": form["business_address"],
            "businessScope": form["business_scope"],
            "employees": form["employees"],
        }
        body: dict[str, Any] = {
            "applicationId": context.application_id,
            "enterprise": enterprise,
            "investors": _investors(company),
            "legalRepresentative": {
                "name": legal.name,
                "idType": document_code(legal),
                "idNumber": legal.id_number,
                "nationality": legal.nationality,
                "sex": legal.sex,
                "birthDate": legal.birth_date.isoformat() if legal.birth_date else None,
                "phone": legal.phone,
            },
        }
        if context.correction:
            body["correctionOf"] = context.previous_reference  # 补正: the registration it corrects
        return self.json_payload("POST", "/registrations", body)

    def receipt_from(self, response: RestResponse) -> Receipt:
        return _receipt(response.json())

    def _status(self, body: Mapping[str, Any]) -> DepartmentStatus:
        return DepartmentStatus(
            state_of(STATES, body["status"], self.department.code),
            code=body["status"],
            message=body.get("remark"),
            outputs=_outputs(body),
        )

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        path = f"/registrations/{quote(receipt.reference, safe='')}"
        return self._status((await self.request(Payload(f"GET {path}", b"", ""))).json())

    def parse_callback(self, body: bytes, content_type: str) -> tuple[str, DepartmentStatus]:
        """The regulator pushes {"registrationNo", "status", "remark"} as JSON."""
        try:
            data = json.loads(body)
            return str(data["registrationNo"]), self._status(data)
        except (ValueError, KeyError, TypeError, TransientError) as exc:
            raise ValueError(f"not a registration status: {exc}") from exc

    async def lookup(self, delivery_key: str) -> Receipt | None:
        path = f"/registrations?{urlencode({'requestId': delivery_key})}"
        items = (await self.request(Payload(f"GET {path}", b"", ""))).json()["items"]
        return _receipt(items[0]) if items else None

    async def cancel(self, receipt: Receipt) -> None:
        path = f"/registrations/{quote(receipt.reference, safe='')}/withdrawal"
        await self.request(self.json_payload("POST", path, {"reason": "applicant withdrew"}))


@hookimpl
def hub_adapters() -> list[type[Adapter]]:
    """Offer the Market Regulation Administration adapter."""
    return [MarketRegulationAdapter]


# Company Law forms a foreign-invested enterprise may take (Foreign Investment Law art. 31).
COMPANY_FORMS = frozenset({"limited_liability", "joint_stock"})
# 10,000 yuan to 4 decimals is one yuan: contributions add up to the capital to the yuan.
_YUAN = 0.00005


@hookimpl
def hub_accept(record: ApplicationRecord, matter: Matter, today: date) -> list[Problem] | None:
    """设立登记's own refusals at the window: investors must be listed, their contributions must
    add up to the registered capital, and foreign capital only goes into a Company Law form."""
    if not any(
        s.department == "market_regulation" and s.operation == "company_registration"
        for s in matter.steps.values()
    ) or not isinstance(record.applicant, Organization):
        return None
    company = record.applicant
    if not company.investors:
        return [
            Problem(
                "applicant.investors",
                "not_accepted.investors",
                "list the company's investors (shareholders), each with its contribution",
                message_zh="请填写股东（出资人）及其认缴出资额",
            )
        ]
    problems = []
    capital = record.form.get("registered_capital")
    contributed = sum(investor.contribution for investor in company.investors)
    if isinstance(capital, int | float) and abs(contributed - capital) > _YUAN:
        problems.append(
            Problem(
                "applicant.investors",
                "not_accepted.contributions",
                f"the investors' contributions add up to {contributed:g}, not the registered "
                f"capital {capital:g} (10,000 yuan)",
                message_zh=f"股东认缴出资额合计{contributed:g}万元，与注册资本{capital:g}万元不符",
            )
        )
    form = record.form.get("company_type")
    if company.foreign_investment != "mainland" and form and form not in COMPANY_FORMS:
        problems.append(
            Problem(
                "form.company_type",
                "not_accepted.company_type",
                "a company with investors from outside the mainland takes a Company Law form: "
                "limited_liability or joint_stock",
                message_zh="外商投资企业及港澳台投资企业应为有限责任公司或股份有限公司",
            )
        )
    return problems
