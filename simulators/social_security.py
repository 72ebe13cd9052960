"""The Social Insurance Center's legacy gateway: form posts, and HTTP 200 whatever happens."""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from simulators.base import SimulatedSystem
from simulators.checks import stored_in, valid_credit_code, valid_document, valid_resident_id
from simulators.ledger import FINAL, Decision

# 办理状态 codes of the gateway.
STATUS = {
    Decision.ACCEPTED: ("1", "已受理"),
    Decision.IN_REVIEW: ("2", "审核中"),
    Decision.APPROVED: ("3", "已办结"),
    Decision.NEEDS_CORRECTION: ("4", "需补正"),
    Decision.REJECTED: ("5", "已退回"),
    Decision.CANCELLED: ("9", "已撤销"),
}
BANKS = {"102", "103", "104", "105", "301"}
# 联系电话 as dialled within China: a mobile, a landline with its trunk 0 and area code (and an
# extension after -), or a 400/800 number. Like many legacy systems, it has no room for a
# foreign number (00…).
PHONE = re.compile(
    r"1[3-9][0-9]{9}|0[1-9][0-9]{8,10}(?:-[0-9]{1,6})?|[48]00[0-9]{7}(?:-[0-9]{1,6})?",
    re.ASCII,
)


class LegacyError(Exception):
    """An error the gateway reports as {"code": "E…", "msg": …} inside an HTTP 200."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def answer(
    code: str = "0000", msg: str = "成功", data: dict[str, Any] | None = None
) -> web.Response:
    """The gateway's one answer shape, always HTTP 200."""
    body: dict[str, Any] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return web.json_response(body)


def required(form: Mapping[str, str], name: str) -> str:
    """A required form field; a missing one is E001."""
    value = form.get(name, "").strip()
    if not value:
        raise LegacyError("E001", f"缺少参数: {name}")
    return value


def yyyymmdd(form: Mapping[str, str], name: str) -> str:
    """A date field in the gateway's yyyymmdd format; anything else is E017."""
    value = required(form, name)
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError as exc:
        raise LegacyError("E017", f"数据格式错误: {name} 应为yyyymmdd") from exc
    return value


def person(form: Mapping[str, str]) -> dict[str, str]:
    """The insured person's fields, checked the gateway's way."""
    sfzh = required(form, "sfzh")
    if not valid_resident_id(sfzh):
        raise LegacyError("E017", "数据格式错误: 身份证号码校验失败")
    lxdh = required(form, "lxdh")
    if not PHONE.fullmatch(lxdh):
        raise LegacyError("E017", "数据格式错误: 联系电话应为国内手机号码或带区号的固定电话")
    # The gateway's database is GBK: a name with 𠮷 is kept as ?吉 would be (the hub refuses it).
    return {"xm": stored_in("gbk", required(form, "xm")) or "", "sfzh": sfzh, "lxdh": lxdh}


class SocialSecurity(SimulatedSystem):
    """社会保险业务网关: insurance transfers, employer registration, card applications."""

    code: ClassVar[str] = "social_security"
    reference_prefix: ClassVar[str] = "SB"
    # The gateway registers every request it gets, repeated serials too: callers must ask
    # (service yw.lshcx) before sending again.
    deduplicates: ClassVar[bool] = False

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"{self.base_path}/gateway.do", self.gateway)

    def busy_response(self) -> web.Response:
        return answer("E999", "系统繁忙，请稍后重试")

    def _authorized(self, request: web.Request) -> bool:
        creds = self.settings.credentials
        token = base64.b64encode(
            f"{creds.get('username', '')}:{creds.get('password', '')}".encode()
        )
        expected = b"Basic " + token
        return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected)

    async def gateway(self, request: web.Request) -> web.Response:
        """Every service goes through one URL, chosen by the `service` field."""
        if not self._authorized(request):
            return answer("E401", "接口认证失败")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        services = {
            "cbdj.zr": self.insurance_transfer,
            "dwdj": self.employer_registration,
            "sbk.sq": self.card_application,
            "yw.cx": self.query,
            "yw.lshcx": self.find,
            "yw.qx": self.cancel,
        }
        try:
            handler = services.get(required(form, "service"))
            if handler is None:
                raise LegacyError("E002", f"未知服务: {form.get('service')}")
            return handler(form)
        except LegacyError as exc:
            return answer(exc.code, exc.msg)

    def _submit(
        self, form: Mapping[str, str], service: str, fields: dict[str, str]
    ) -> web.Response:
        case = self.ledger.submit(required(form, "qqlsh"), required(form, "sqbh"), service, fields)
        return answer(data={"ywlsh": case.reference})

    def insurance_transfer(self, form: Mapping[str, str]) -> web.Response:
        """参保关系转入: needs the police's household case number."""
        fields = person(form) | {"rq": yyyymmdd(form, "rq"), "hjbh": required(form, "hjbh")}
        return self._submit(form, "cbdj.zr", fields)

    def employer_registration(self, form: Mapping[str, str]) -> web.Response:
        """单位参保登记: a company with no employees has nothing to register (E023)."""
        code = required(form, "tyshxydm")
        if not valid_credit_code(code):
            raise LegacyError("E017", "数据格式错误: 统一社会信用代码校验失败")
        employees = required(form, "cyrs")
        if not employees.isdigit():
            raise LegacyError("E017", "数据格式错误: 从业人数")
        if int(employees) == 0:
            raise LegacyError("E023", "从业人数为0，无需办理单位参保登记")
        if not valid_document(required(form, "fddbrzjlx"), required(form, "fddbrzjhm")):
            raise LegacyError("E017", "数据格式错误: 法定代表人证件类型或号码")
        fields = {
            "dwmc": required(form, "dwmc"),
            "fddbrzjlx": form["fddbrzjlx"],
            "tyshxydm": code,
            "cyrs": employees,
            "clrq": yyyymmdd(form, "clrq"),
        }
        return self._submit(form, "dwdj", fields)

    def card_application(self, form: Mapping[str, str]) -> web.Response:
        """社保卡申领: the bank must be a partner bank."""
        bank = required(form, "yhdm")
        if bank not in BANKS:
            raise LegacyError("E041", f"发卡银行代码无效: {bank}")
        return self._submit(form, "sbk.sq", person(form) | {"yhdm": bank})

    def query(self, form: Mapping[str, str]) -> web.Response:
        """业务查询 by the gateway's own serial number."""
        reference = required(form, "ywlsh")
        decision = self.decision_of(reference)
        if decision is None:
            raise LegacyError("E404", "业务不存在")
        code, label = STATUS[decision]
        remark = "请上传近期免冠照片" if decision is Decision.NEEDS_CORRECTION else ""
        return answer(data={"ywlsh": reference, "blzt": code, "blztmc": label, "bz": remark})

    def find(self, form: Mapping[str, str]) -> web.Response:
        """请求流水号查询: the case registered under a caller's serial, if any."""
        case = self.ledger.find(required(form, "qqlsh"))
        return answer(data={"ywlsh": case.reference if case else None})

    def cancel(self, form: Mapping[str, str]) -> web.Response:
        """业务撤销: only undecided business can be withdrawn."""
        case = self.ledger.cases.get(required(form, "ywlsh"))
        if case is None:
            raise LegacyError("E404", "业务不存在")
        if case.decision(self.decisions) in FINAL:
            raise LegacyError("E052", "业务已办结，不能撤销")
        case.forced = Decision.CANCELLED
        return answer(data={"ywlsh": case.reference, "blzt": "9"})
