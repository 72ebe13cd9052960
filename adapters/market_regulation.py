"""Market Regulation Administration (企业登记系统): JSON REST; assigns the credit code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from adapters.mapping import code_of, organization, state_of
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
    TransientError,
)
from hub.transports.rest import RestAdapter, RestResponse

ENTERPRISE_TYPES = {
    "limited_liability": "1100",
    "joint_stock": "1200",
    "sole_proprietorship": "4000",
    "partnership": "4200",
    "foreign_invested": "5100",
}
STATES = {
    "ACCEPTED": DepartmentState.SUBMITTED,
    "REVIEWING": DepartmentState.IN_REVIEW,
    "APPROVED": DepartmentState.APPROVED,
    "CORRECTION_REQUIRED": DepartmentState.NEEDS_CORRECTION,
    "REJECTED": DepartmentState.REJECTED,
    "WITHDRAWN": DepartmentState.CANCELLED,
}


def _receipt(body: dict[str, str]) -> Receipt:
    return Receipt(body["registrationNo"], {"credit_code": body["creditCode"]})


class MarketRegulationAdapter(RestAdapter):
    """Company registration; its receipt carries the new unified social credit code."""

    name: ClassVar[str] = "market_regulation"
    auth = "bearer"
    operations: ClassVar[frozenset[str]] = frozenset({"company_registration"})

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        company = organization(record)
        form = record.form
        legal = company.legal_representative
        enterprise = {
            "name": form["company_name"],
            "type": code_of(ENTERPRISE_TYPES, form["company_type"], "company type"),
            "registeredCapital": form["registered_capital"],
            "address": form["business_address"],
            "businessScope": form["business_scope"],
            "employees": form["employees"],
        }
        if form.get("investor_country"):
            enterprise["foreignInvestor"] = {"country": form["investor_country"]}
        body: dict[str, Any] = {
            "applicationId": context.application_id,
            "enterprise": enterprise,
            "legalRepresentative": {
                "name": legal.name,
                "idType": legal.id_type,
                "idNumber": legal.id_number,
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
