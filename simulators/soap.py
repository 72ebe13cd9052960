"""A minimal SOAP 1.1 server side: envelopes, WS-Security UsernameToken checks and faults.

Written with lxml directly rather than a SOAP server framework: a legacy system is what the
hub must survive, so the simulator controls every byte it answers (encoding, fault layout).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any, ClassVar

from aiohttp import web
from lxml import etree

from simulators.base import SimulatedSystem, SimulatorSettings

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
TOKEN_MAX_AGE = timedelta(minutes=5)


class SoapFault(Exception):
    """A fault to answer with: faultcode (soap:Client, soap:Server, wsse:…), string and detail."""

    def __init__(self, code: str, message: str, detail_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail_code = detail_code


def wsdl_bytes(name: str) -> bytes:
    """The published WSDL of a simulated system."""
    return (files("simulators") / "wsdl" / name).read_bytes()


def parse_envelope(body: bytes) -> tuple[etree._Element | None, etree._Element]:
    """The (Header, first Body child) of a request; a broken envelope is a Client fault."""
    try:
        envelope = etree.fromstring(
            body, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise SoapFault("soap:Client", f"request is not well-formed XML: {exc}") from exc
    if envelope.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("soap:Client", "request is not a SOAP 1.1 envelope")
    body_node = envelope.find(f"{{{SOAP_ENV}}}Body")
    if body_node is None or len(body_node) == 0:
        raise SoapFault("soap:Client", "SOAP Body is empty")
    return envelope.find(f"{{{SOAP_ENV}}}Header"), body_node[0]


class NonceCache:
    """Nonces seen lately, so that a captured digest cannot be replayed."""

    def __init__(self, size: int = 10_000) -> None:
        self.seen: OrderedDict[str, float] = OrderedDict()
        self.size = size

    def fresh(self, nonce: str) -> bool:
        """True the first time a nonce is seen."""
        if nonce in self.seen:
            return False
        self.seen[nonce] = time.monotonic()
        while len(self.seen) > self.size:
            self.seen.popitem(last=False)
        return True


def check_username_token(
    header: etree._Element | None, username: str, password: str, nonces: NonceCache
) -> None:
    """Verify a WS-Security UsernameToken (PasswordText or PasswordDigest) or raise a fault."""
    token = None if header is None else header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        raise SoapFault("wsse:InvalidSecurity", "WS-Security UsernameToken is missing")
    given_user = token.findtext(f"{{{WSSE}}}Username")
    password_node = token.find(f"{{{WSSE}}}Password")
    if given_user != username or password_node is None:
        raise SoapFault("wsse:FailedAuthentication", "unknown user or wrong password")
    given = (password_node.text or "").strip()
    if password_node.get("Type") == PASSWORD_DIGEST:
        nonce = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError as exc:
            raise SoapFault("wsse:InvalidSecurity", "Created is not a timestamp") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - when) > TOKEN_MAX_AGE:
            raise SoapFault("wsse:MessageExpired", "UsernameToken is too old")
        if not nonces.fresh(nonce):
            raise SoapFault("wsse:FailedAuthentication", "nonce was used before")
        raw = base64.b64decode(nonce) + created.encode() + password.encode()
        expected = base64.b64encode(hashlib.sha1(raw).digest()).decode()
    else:
        expected = password
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SoapFault("wsse:FailedAuthentication", "unknown user or wrong password")


def text(node: etree._Element, name: str, ns: str) -> str:
    """The text of a required child element; a missing one is a Client fault."""
    value = node.findtext(f"{{{ns}}}{name}")
    if value is None or not value.strip():
        raise SoapFault("soap:Client", f"{name} is required")
    return value.strip()


def respond(ns: str, name: str, values: dict[str, Any], *, encoding: str = "utf-8") -> web.Response:
    """A SOAP response whose body holds one element with simple children, in order."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "tns": ns})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    element = etree.SubElement(body, f"{{{ns}}}{name}")
    for key, value in values.items():
        child = etree.SubElement(element, f"{{{ns}}}{key}")
        child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return _xml(envelope, 200, encoding)


def fault_response(
    fault: SoapFault, ns: str, detail: tuple[str, str, str], *, encoding: str = "utf-8"
) -> web.Response:
    """A SOAP 1.1 fault (HTTP 500); detail is (element, code child, message child) names."""
    envelope = etree.Element(
        f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "tns": ns, "wsse": WSSE}
    )
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(node, "faultcode").text = fault.code
    etree.SubElement(node, "faultstring").text = fault.message
    if fault.detail_code:
        element, code_name, message_name = detail
        info = etree.SubElement(etree.SubElement(node, "detail"), f"{{{ns}}}{element}")
        etree.SubElement(info, f"{{{ns}}}{code_name}").text = fault.detail_code
        etree.SubElement(info, f"{{{ns}}}{message_name}").text = fault.message
    return _xml(envelope, 500, encoding)


def _xml(envelope: etree._Element, status: int, encoding: str) -> web.Response:
    data = etree.tostring(envelope, encoding=encoding, xml_declaration=True)
    return web.Response(body=data, status=status, content_type="text/xml", charset=encoding)


class SoapSystem(SimulatedSystem):
    """A simulated SOAP system: WSDL at ?wsdl, UsernameToken checked, body element dispatched."""

    ns: ClassVar[str]
    wsdl_name: ClassVar[str]
    encoding: ClassVar[str] = "utf-8"
    detail: ClassVar[tuple[str, str, str]]
    """The fault detail's (element, code child, message child) names."""
    busy: ClassVar[tuple[str, str]]
    """The (code, message) of this system's "busy" Server fault."""
    operations: ClassVar[dict[str, str]]
    """Request body element name → name of the method that answers it."""

    def __init__(self, settings: SimulatorSettings, base_path: str = "") -> None:
        super().__init__(settings, base_path)
        self.nonces = NonceCache()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(self.base_path or "/", self.handle)
        app.router.add_get(self.base_path or "/", self.wsdl)

    async def wsdl(self, request: web.Request) -> web.Response:
        """GET ?wsdl answers the published WSDL."""
        return web.Response(body=wsdl_bytes(self.wsdl_name), content_type="text/xml")

    def busy_response(self) -> web.Response:
        code, message = self.busy
        return self.fault(SoapFault("soap:Server", message, code))

    def fault(self, fault: SoapFault) -> web.Response:
        """A fault in this system's layout and encoding."""
        return fault_response(fault, self.ns, self.detail, encoding=self.encoding)

    def answer(self, name: str, values: dict[str, Any]) -> web.Response:
        """A response element in this system's namespace and encoding."""
        return respond(self.ns, name, values, encoding=self.encoding)

    def text(self, node: etree._Element, name: str) -> str:
        """A required child's text in this system's namespace."""
        return text(node, name, self.ns)

    def optional(self, node: etree._Element, name: str) -> str:
        """An optional child's text in this system's namespace, "" when absent."""
        return (node.findtext(f"{{{self.ns}}}{name}") or "").strip()

    async def handle(self, request: web.Request) -> web.Response:
        """One SOAP call: authenticate, dispatch on the body element, answer or fault."""
        try:
            header, node = parse_envelope(await request.read())
            creds = self.settings.credentials
            check_username_token(header, creds["username"], creds["password"], self.nonces)
            method = self.operations.get(etree.QName(node).localname)
            if method is None:
                raise SoapFault("soap:Client", f"unknown operation {etree.QName(node).localname}")
            response: web.Response = getattr(self, method)(node)
            return response
        except SoapFault as fault:
            return self.fault(fault)
