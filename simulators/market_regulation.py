"""The Market Regulation Administration's registration API: JSON REST with proper statuses."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from hub.model.identity import credit_code_check_char, organization_code_check_char
from simulators.base import SimulatedSystem
from simulators.checks import valid_credit_code, valid_document
from simulators.ledger import FINAL, Case, Decision

STATUS = {
    Decision.ACCEPTED: "ACCEPTED",
    Decision.IN_REVIEW: "REVIEWING",
    Decision.APPROVED: "APPROVED",
    Decision.NEEDS_CORRECTION: "CORRECTION_REQUIRED",
    Decision.REJECTED: "REJECTED",
    Decision.CANCELLED: "WITHDRAWN",
}
# 企业类型: by Company Law form, foreign-invested (5xxx) and Hong Kong/Macao/Taiwan-invested (6xxx).
ENTERPRISE_TYPES = {"1100", "1200", "4000", "4200", "5100", "5200", "6100", "6200"}
HK_MACAO_TAIWAN = {"HKG", "MAC", "TWN"}
# Names already registered in the demo city: filing one of these is refused (409).
TAKEN_NAMES = {"示范市星辰科技有限公司", "示范市重名测试有限公司"}
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
AREA = "110105"


def mint_credit_code(seed: str) -> str:
    """A valid unified social credit code, stable for one delivery key."""
    digest = hashlib.sha256(seed.encode()).digest()
    body = "".join(CREDIT_CODE_CHARS[b % len(CREDIT_CODE_CHARS)] for b in digest[:6])
    # Characters 9 to 17 are a GB 11714 organization code, with its own check character.
    organization = f"MA{body}"
    first17 = f"91{AREA}{organization}{organization_code_check_char(organization)}"
    return first17 + credit_code_check_char(first17)


def _origin(investor: dict[str, Any]) -> str | None:
    """mainland, hk_macao_taiwan or foreign; None for an investor the register would refuse."""
    if investor["type"] == "organization":
        country = str(investor["country"])
        if country == "CHN" and not valid_credit_code(str(investor.get("creditCode"))):
            return None
    elif valid_document(str(investor["idType"]), str(investor["idNumber"])):
        country = str(investor.get("nationality") or "CHN")
    else:
        return None
    if country == "CHN":
        return "mainland"
    return "hk_macao_taiwan" if country in HK_MACAO_TAIWAN else "foreign"


def _type_digits(origins: list[str | None]) -> str:
    """The first digits an enterprise type code may have for these investors."""
    if "foreign" in origins:
        return "5"
    return "6" if "hk_macao_taiwan" in origins else "14"


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    """An error answer in this API's layout."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


class MarketRegulation(SimulatedSystem):
    """企业登记系统: registers companies and assigns their unified social credit codes."""

    code: ClassVar[str] = "market_regulation"
    reference_prefix: ClassVar[str] = "SC"

    def add_routes(self, app: web.Application) -> None:
        base = self.base_path
        app.router.add_post(f"{base}/registrations", self.register)
        app.router.add_get(f"{base}/registrations", self.search)
        app.router.add_get(f"{base}/registrations/{{number}}", self.status)
        app.router.add_post(f"{base}/registrations/{{number}}/withdrawal", self.withdraw)

    def busy_response(self) -> web.Response:
        return error(503, "MR-5030", "service temporarily unavailable", **{"Retry-After": "1"})

    def _authorized(self, request: web.Request) -> bool:
        expected = f"Bearer {self.settings.credentials.get('token', '')}"
        return hmac.compare_digest(
            request.headers.get("Authorization", "").encode(), expected.encode()
        )

    def _view(self, case: Case) -> dict[str, Any]:
        decision = case.decision(self.decisions)
        view = {"registrationNo": case.reference, "status": STATUS[decision]}
        if decision is Decision.APPROVED:  # a credit code exists once registration is approved
            view |= case.outputs
        if decision is Decision.NEEDS_CORRECTION:
            view["remark"] = "经营范围表述不规范，请修改后重新提交"
        return view

    async def register(self, request: web.Request) -> web.Response:
        """设立登记: validates the filing; one registration per Idempotency-Key."""
        if not self._authorized(request):
            return error(401, "MR-4010", "invalid or missing bearer token")
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return error(400, "MR-4000", "Idempotency-Key header is required")
        try:
            body = json.loads(await request.read())
            enterprise, legal = body["enterprise"], body["legalRepresentative"]
            name, kind = str(enterprise["name"]), str(enterprise["type"])
            capital = float(enterprise["registeredCapital"])
            id_type, id_number = str(legal["idType"]), str(legal["idNumber"])
            investors = list(body["investors"])
            origins = [_origin(investor) for investor in investors]
            contributed = sum(float(investor["contribution"]) for investor in investors)
        except (ValueError, KeyError, TypeError) as exc:
            return error(400, "MR-4001", f"malformed request body: {exc!r}")
        if kind not in ENTERPRISE_TYPES:
            return error(422, "MR-4221", f"enterprise.type {kind!r} is not a known type code")
        if capital < 0:
            return error(422, "MR-4222", "enterprise.registeredCapital must not be negative")
        if not valid_document(id_type, id_number):
            return error(422, "MR-4223", "legalRepresentative: unknown idType or invalid idNumber")
        if not investors or None in origins:
            return error(422, "MR-4224", "investors: each needs a valid document or country")
        if abs(contributed - capital) > 0.00005:
            return error(422, "MR-4225", "investors' contributions must add up to the capital")
        if kind[0] not in _type_digits(origins):
            return error(422, "MR-4226", f"enterprise.type {kind} does not fit its investors")
        if name in TAKEN_NAMES:
            return error(409, "MR-4091", f"企业名称已被占用: {name}")
        existing = self.ledger.find(key) if self.ledger.deduplicate else None
        correction_of = body.get("correctionOf")
        case = self.ledger.submit(
            key,
            str(body.get("applicationId", "")),
            "register",
            {
                "name": name,
                "type": kind,
                "businessScope": enterprise.get("businessScope"),
                "legalRepIdType": id_type,
                "investors": [
                    (i["type"], i["name"], origin)
                    for i, origin in zip(investors, origins, strict=True)
                ],
            },
            outputs={
                "creditCode": mint_credit_code(correction_of or key),
                # The licence's date is the founding date; registered on the spot, it is today.
                "establishedOn": self.today().isoformat(),
            },
            correction_of=correction_of,
        )
        view = self._view(case) | {"acceptedAt": datetime.now(UTC).isoformat(timespec="seconds")}
        return web.json_response(view, status=200 if existing else 201)

    def callback_body(self, case: Case, decision: Decision) -> bytes:
        """The regulator pushes each registration's new status as JSON."""
        view = self._view(case) | {"timestamp": datetime.now(UTC).isoformat(timespec="seconds")}
        return json.dumps(view, ensure_ascii=False).encode()

    async def status(self, request: web.Request) -> web.Response:
        """One registration's status."""
        if not self._authorized(request):
            return error(401, "MR-4010", "invalid or missing bearer token")
        case = self.ledger.cases.get(request.match_info["number"])
        if case is None:
            return error(404, "MR-4040", "no such registration")
        return web.json_response(self._view(case))

    async def search(self, request: web.Request) -> web.Response:
        """Registrations made under an Idempotency-Key (?requestId=)."""
        if not self._authorized(request):
            return error(401, "MR-4010", "invalid or missing bearer token")
        key = request.query.get("requestId", "")
        items = [self._view(self.ledger.cases[r]) for r in self.ledger.by_key.get(key, [])]
        return web.json_response({"items": items})

    async def withdraw(self, request: web.Request) -> web.Response:
        """撤回: only an undecided registration can be withdrawn."""
        if not self._authorized(request):
            return error(401, "MR-4010", "invalid or missing bearer token")
        case = self.ledger.cases.get(request.match_info["number"])
        if case is None:
            return error(404, "MR-4040", "no such registration")
        if case.decision(self.decisions) in FINAL:
            return error(409, "MR-4092", "registration already decided")
        case.forced = Decision.CANCELLED
        return web.json_response(self._view(case))
