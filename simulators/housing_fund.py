"""The Housing Provident Fund Center's account system: JSON over HTTP, verdicts in `ret`."""

from __future__ import annotations

import hmac
import json
from datetime import date, timedelta
from typing import Any, ClassVar

from aiohttp import web

from simulators.base import SimulatedSystem
from simulators.checks import stored_in, valid_credit_code, valid_resident_id
from simulators.ledger import Case, Decision

STATUS = {
    Decision.ACCEPTED: "10",
    Decision.IN_REVIEW: "20",
    Decision.APPROVED: "30",
    Decision.REJECTED: "40",
    Decision.NEEDS_CORRECTION: "50",
    Decision.CANCELLED: "90",
}


def answer(ret: int, data: dict[str, Any] | None = None, message: str = "ok") -> web.Response:
    """The center's one answer shape: {"ret": 0, "data": …} or {"ret": n, "message": …}."""
    body: dict[str, Any] = {"ret": ret, "message": message}
    if data is not None:
        body["data"] = data
    return web.json_response(body)


class HousingFund(SimulatedSystem):
    """住房公积金管理中心: opens personal accounts for new employees."""

    code: ClassVar[str] = "housing_fund"
    reference_prefix: ClassVar[str] = "GJJ"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"{self.base_path}/accounts", self.open_account)
        app.router.add_get(f"{self.base_path}/accounts", self.search)
        app.router.add_get(f"{self.base_path}/accounts/{{number}}", self.status)

    def busy_response(self) -> web.Response:
        return answer(9001, message="系统维护中，请稍后再试")

    def _authorized(self, request: web.Request) -> bool:
        expected = self.settings.credentials.get("token", "")
        return hmac.compare_digest(
            request.headers.get("Authorization", "").encode(), f"Bearer {expected}".encode()
        )

    def _view(self, case: Case) -> dict[str, Any]:
        return {"accountNo": case.reference, "status": STATUS[case.decision(self.decisions)]}

    async def open_account(self, request: web.Request) -> web.Response:
        """开户: the employee's ID number and the employer's credit code are checked."""
        if not self._authorized(request):
            return answer(1401, message="令牌无效")
        try:
            body = json.loads(await request.read())
            person, employer = body["person"], body["employer"]
        except (ValueError, KeyError, TypeError):
            return answer(1000, message="报文格式错误")
        if not valid_resident_id(str(person.get("idCard", ""))):
            return answer(2001, message="证件号码无效")
        if not valid_credit_code(str(employer.get("creditCode", ""))):
            return answer(2002, message="单位统一社会信用代码无效")
        month = str(body.get("startMonth", ""))
        if not (month.isdigit() and len(month) == 6) or month < (
            date.today() - timedelta(days=366)
        ).strftime("%Y%m"):
            return answer(2003, message="缴存起始月超出受理范围（近一年内）")
        case = self.ledger.submit(
            str(body.get("requestNo", "")),
            str(body.get("applicationNo", "")),
            "open_account",
            {
                # GBK in its database: a character outside it is kept as "?".
                "name": stored_in("gbk", person.get("name")),
                "mobile": person.get("mobile"),
                "startMonth": body.get("startMonth"),
                "employer": employer.get("creditCode"),
            },
        )
        return answer(0, self._view(case))

    async def status(self, request: web.Request) -> web.Response:
        """An account's status."""
        case = self.ledger.cases.get(request.match_info["number"])
        if case is None:
            return answer(3004, message="账户不存在")
        return answer(0, self._view(case))

    async def search(self, request: web.Request) -> web.Response:
        """Accounts opened under a request number."""
        found = self.ledger.find(request.query.get("requestNo", ""))
        return answer(0, {"items": [self._view(found)] if found else []})
