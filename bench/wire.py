"""The department calls on the wire, built and read by hand: what a team's bare client sends.

The limit client and the Celery peer both use these, so that they send the very requests the
hub's adapters send (same operations, fields, encodings and WS-Security tokens), without the
hub's store, validation, retries or sync log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from lxml import etree

from hub.model.phones import national_phone

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
NONCE_ENCODING = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
PS_NS = "http://hjxt.gaj.example.gov.cn/2008/household"
TAX_NS = "http://djxt.etax.example.gov.cn/2010/registration"
USER_AGENT = "bench-bare-client/1"

# The states in which a department has decided, in each system's own codes.
DECIDED = {
    "public_security": frozenset({"03", "05", "09"}),
    "tax": frozenset({"TG", "BTG", "CX"}),
    "market_regulation": frozenset({"APPROVED", "REJECTED", "WITHDRAWN"}),
    "social_security": frozenset({"3", "5", "9"}),
}


class WireError(Exception):
    """A department said no, or not now; `transient` tells which."""

    def __init__(self, department: str, code: str, *, transient: bool) -> None:
        super().__init__(f"{department}: {code}")
        self.department = department
        self.code = code
        self.transient = transient


@dataclass(frozen=True)
class Request:
    """One HTTP request, ready for any client library."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Endpoints:
    """Where each department listens and the credentials it expects."""

    urls: Mapping[str, str]
    secrets: Mapping[str, str]
    """Environment variable name → value (the demo credentials)."""

    def secret(self, name: str) -> str:
        """One credential by its environment variable name."""
        return self.secrets[name]


@dataclass(frozen=True)
class Call:
    """One step of one application as a bare client carries it."""

    department: str
    operation: str
    fields: Mapping[str, Any]
    delivery_key: str
    application_id: str
    inputs: dict[str, str] = field(default_factory=dict)


def _headers(call: Call | None, content_type: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if content_type:
        headers["Content-Type"] = content_type
    if call is not None:
        headers["X-Hub-Application-Id"] = call.application_id
        headers["X-Hub-Delivery-Key"] = call.delivery_key
    return headers


def _security(username: str, password: str, digest: bool) -> str:
    if not digest:
        return (
            f"<wsse:UsernameToken><wsse:Username>{escape(username)}</wsse:Username>"
            f'<wsse:Password Type="{TOKEN_PROFILE}#PasswordText">{escape(password)}'
            "</wsse:Password></wsse:UsernameToken>"
        )
    nonce = os.urandom(16)
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    digest_value = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    ).decode()
    return (
        f"<wsse:UsernameToken><wsse:Username>{escape(username)}</wsse:Username>"
        f'<wsse:Password Type="{TOKEN_PROFILE}#PasswordDigest">{digest_value}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{NONCE_ENCODING}">{base64.b64encode(nonce).decode()}'
        f'</wsse:Nonce><wsu:Created xmlns:wsu="{WSU}">{created}</wsu:Created></wsse:UsernameToken>'
    )


def _elements(values: Mapping[str, Any]) -> str:
    parts = []
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping):
                parts.append(f"<ns0:{name}>{_elements(item)}</ns0:{name}>")
            else:
                parts.append(f"<ns0:{name}>{escape(str(item))}</ns0:{name}>")
    return "".join(parts)


def _envelope(
    ns: str, element: str, values: Mapping[str, Any], security: str, encoding: str
) -> bytes:
    text = (
        f"<?xml version='1.0' encoding='{encoding}'?>\n"
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Header>'
        f'<wsse:Security xmlns:wsse="{WSSE}">{security}</wsse:Security></soap-env:Header>'
        f'<soap-env:Body><ns0:{element} xmlns:ns0="{ns}">{_elements(values)}</ns0:{element}>'
        "</soap-env:Body></soap-env:Envelope>"
    )
    return text.encode(encoding)


def _public_security(
    endpoints: Endpoints, element: str, action: str, values: Mapping[str, Any], call: Call | None
) -> Request:
    security = _security(
        endpoints.secret("HUB_PUBLIC_SECURITY_USERNAME"),
        endpoints.secret("HUB_PUBLIC_SECURITY_PASSWORD"),
        digest=True,
    )
    headers = _headers(call, "text/xml; charset=utf-8") | {"SOAPAction": f'"urn:hjxt:{action}"'}
    body = _envelope(PS_NS, element, values, security, "utf-8")
    return Request("POST", endpoints.urls["public_security"], headers, body)


def _tax(
    endpoints: Endpoints, element: str, values: Mapping[str, Any], call: Call | None
) -> Request:
    security = _security(
        endpoints.secret("HUB_TAX_USERNAME"), endpoints.secret("HUB_TAX_PASSWORD"), digest=False
    )
    headers = _headers(call, "text/xml; charset=GB18030") | {"SOAPAction": f'"{element}"'}
    body = _envelope(TAX_NS, element, values, security, "GB18030")
    return Request("POST", endpoints.urls["tax"], headers, body)


def _market(
    endpoints: Endpoints,
    method: str,
    path: str,
    call: Call | None,
    body: Mapping[str, Any] | None = None,
) -> Request:
    data = (
        b""
        if body is None
        else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    )
    headers = _headers(call, "application/json; charset=utf-8" if data else None)
    headers["Accept"] = "application/json"
    headers["Authorization"] = f"Bearer {endpoints.secret('HUB_MARKET_REGULATION_TOKEN')}"
    if call is not None:
        headers["Idempotency-Key"] = call.delivery_key
    return Request(method, endpoints.urls["market_regulation"] + path, headers, data)


def _social(endpoints: Endpoints, fields: Mapping[str, str], call: Call | None) -> Request:
    headers = _headers(call, "application/x-www-form-urlencoded; charset=utf-8")
    headers["Accept"] = "application/json"
    user = endpoints.secret("HUB_SOCIAL_SECURITY_USERNAME")
    password = endpoints.secret("HUB_SOCIAL_SECURITY_PASSWORD")
    headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    body = urlencode(fields).encode("ascii")
    return Request("POST", endpoints.urls["social_security"] + "/gateway.do", headers, body)


def submit_request(endpoints: Endpoints, call: Call) -> Request:
    """The request that files one step with its department, as the hub's adapter builds it."""
    f = call.fields
    if call.operation == "company_registration":
        enterprise = {
            "name": f["company_name"],
            "type": f["enterprise_type"],
            "registeredCapital": f["registered_capital"],
            "address": f["business_address"],
            "businessScope": f["business_scope"],
            "employees": f["employees"],
        }
        body = {
            "applicationId": call.application_id,
            "enterprise": enterprise,
            "investors": f["investors"],
            "legalRepresentative": {
                "name": f["legal_name"],
                "idType": f["legal_id_type"],
                "idNumber": f["legal_id_number"],
                "nationality": f["legal_nationality"],
                "sex": f["legal_sex"],
                "birthDate": f["legal_birth_date"],
                "phone": f["legal_phone"],
            },
        }
        return _market(endpoints, "POST", "/registrations", call, body)
    trace = {"RequestId": call.delivery_key, "ApplicationId": call.application_id}
    if call.operation == "seal_engraving":
        values = {
            "Trace": trace,
            "CompanyName": f["company_name"],
            "CreditCode": call.inputs["credit_code"],
            "LegalRepName": f["legal_name"],
            "LegalRepIdType": f["legal_id_type"],
            "LegalRepIdNumber": f["legal_id_number"],
            "SealKind": f["seal_kinds"],
        }
        return _public_security(endpoints, "SubmitSealRequest", "SubmitSeal", values, call)
    if call.operation == "household_transfer":
        values = {
            "Trace": trace,
            "Name": f["name"],
            "IdNumber": f["id_number"],
            "Phone": f["phone"],
            "FromAddress": f["from_address"],
            "ToAddress": f["to_address"],
            "Reason": f["reason"],
            "MoveDate": f["move_date"],
        }
        return _public_security(endpoints, "SubmitTransferRequest", "SubmitTransfer", values, call)
    if call.operation == "taxpayer_registration":
        values = {
            "Lsh": call.delivery_key,
            "Sqbh": call.application_id,
            "Nsrsbh": call.inputs["credit_code"],
            "Nsrmc": f["company_name"],
            "Fddbrxm": f["legal_name"],
            "Fddbrzjlx": f["legal_id_type"],
            "Fddbrsfzh": f["legal_id_number"],
            "Fddbrgj": f["legal_nationality"],
            "Zcdz": f["business_address"],
            "Jyfw": f["business_scope"],
            "Djzclx": f["tax_type"],
        }
        return _tax(endpoints, "RegisterTaxpayer", values, call)
    trace_form = {"qqlsh": call.delivery_key, "sqbh": call.application_id}
    if call.operation == "employer_registration":
        form = {
            "service": "dwdj",
            **trace_form,
            "dwmc": f["company_name"],
            "tyshxydm": call.inputs["credit_code"],
            "fddbr": f["legal_name"],
            "fddbrzjlx": f["legal_id_type"],
            "fddbrzjhm": f["legal_id_number"],
            "cyrs": str(f["employees"]),
            "clrq": call.inputs["founded_on"].replace("-", ""),
        }
        return _social(endpoints, form, call)
    if call.operation == "insurance_transfer":
        form = {
            "service": "cbdj.zr",
            **trace_form,
            "xm": f["name"],
            "sfzh": f["id_number"],
            "lxdh": national_phone(f["phone"]),
            "rq": f["move_date"].replace("-", ""),
            "hjbh": call.inputs["household_case_no"],
        }
        return _social(endpoints, form, call)
    raise ValueError(f"no wire form for operation {call.operation!r}")


def query_request(endpoints: Endpoints, department: str, reference: str) -> Request:
    """The status query for one filing the department accepted."""
    if department == "public_security":
        values = {"CaseNo": reference}
        return _public_security(endpoints, "QueryCaseRequest", "QueryCase", values, None)
    if department == "tax":
        return _tax(endpoints, "QueryAcceptance", {"Slbh": reference}, None)
    if department == "market_regulation":
        return _market(endpoints, "GET", f"/registrations/{quote(reference, safe='')}", None)
    if department == "social_security":
        return _social(endpoints, {"service": "yw.cx", "ywlsh": reference}, None)
    raise ValueError(f"no wire form for department {department!r}")


def _soap_values(department: str, status: int, body: bytes) -> dict[str, str]:
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise WireError(department, "malformed_response", transient=True) from exc
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    if fault is not None:
        code = fault.findtext("faultcode") or ""
        raise WireError(department, code, transient=not code.endswith("Client"))
    answer = root.find(f"{{{SOAP_ENV}}}Body")
    if status != 200 or answer is None or len(answer) == 0:
        raise WireError(department, f"http_{status}", transient=True)
    return {etree.QName(child).localname: child.text or "" for child in answer[0]}


def _json(department: str, status: int, body: bytes) -> Any:
    if status >= 500 or status in (401, 403, 408, 429):
        raise WireError(department, f"http_{status}", transient=True)
    if status >= 400:
        raise WireError(department, f"http_{status}", transient=False)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise WireError(department, "malformed_response", transient=True) from exc


def _gateway(status: int, body: bytes) -> dict[str, Any]:
    data = _json("social_security", status, body)
    code = str(data.get("code", ""))
    if code != "0000":
        transient = not code or code.startswith(("E9", "E401"))
        raise WireError("social_security", code or "malformed_response", transient=transient)
    result: dict[str, Any] = data["data"]
    return result


def _registration_outputs(data: Mapping[str, Any]) -> dict[str, str]:
    """The credit code and founding date, which registration gives once it is approved."""
    given = {"credit_code": data.get("creditCode"), "founded_on": data.get("establishedOn")}
    return {name: str(value) for name, value in given.items() if value is not None}


def read_receipt(department: str, status: int, body: bytes) -> tuple[str, dict[str, str]]:
    """The department's reference number and the outputs later steps use; WireError if refused."""
    if department == "public_security":
        return _soap_values(department, status, body)["CaseNo"], {}
    if department == "tax":
        return _soap_values(department, status, body)["Slbh"], {}
    if department == "market_regulation":
        data = _json(department, status, body)
        return data["registrationNo"], _registration_outputs(data)
    return _gateway(status, body)["ywlsh"], {}


def read_status(department: str, status: int, body: bytes) -> tuple[bool, dict[str, str]]:
    """Whether a status answer says the department has decided, and the outputs it gives with
    its decision (registration's credit code comes with its approval)."""
    outputs: dict[str, str] = {}
    if department == "public_security":
        state = _soap_values(department, status, body)["StatusCode"]
    elif department == "tax":
        state = _soap_values(department, status, body)["Zt"]
    elif department == "market_regulation":
        data = _json(department, status, body)
        state, outputs = data["status"], _registration_outputs(data)
    else:
        state = _gateway(status, body)["blzt"]
    return state in DECIDED[department], outputs


def read_decided(department: str, status: int, body: bytes) -> bool:
    """Whether a status answer says the department has decided."""
    return read_status(department, status, body)[0]
