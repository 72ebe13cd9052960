"""The SOAP base adapter: zeep builds and parses envelopes, the hub's aiohttp session sends them.

zeep 4's own async transport runs on httpx. Rather than keep a second HTTP stack (with its own
pools, timeouts and proxies), zeep only does what it is best at here: serializing a request from
the WSDL and deserializing the reply or fault. The bytes go over `hub.transports.http.exchange`,
so SOAP calls are timed, traced and recorded exactly like REST calls.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import zeep
import zeep.exceptions
from lxml import etree
from multidict import CIMultiDictProxy
from pydantic import BaseModel, ConfigDict
from zeep.wsse.username import UsernameToken

from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentError,
    Payload,
    PermanentError,
    Receipt,
    TransientError,
)
from hub.transports.http import exchange, tracing_headers


class SoapOptions(BaseModel):
    """Options every SOAP department may set in its `[options]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    password_digest: bool = False
    """Send the WS-Security password as a digest (with nonce and time) instead of as text."""


@functools.cache
def load_client(wsdl: Path) -> zeep.Client:
    """Parse a WSDL file once per process; the client only builds and parses messages."""
    return zeep.Client(str(wsdl), settings=zeep.Settings(strict=True, xml_huge_tree=False))


@dataclass(frozen=True, slots=True)
class _ZeepResponse:
    """The few attributes zeep's reply parser reads from a requests.Response."""

    status_code: int
    content: bytes
    headers: CIMultiDictProxy[str]
    encoding: str | None


def _local(tag: str | None) -> str:
    """An XML name without namespace or prefix: '{ns}Code' and 'soap:Client' give the last part."""
    if not tag:
        return ""
    return etree.QName(tag).localname if tag.startswith("{") else tag.rpartition(":")[2]


class SoapAdapter(Adapter):
    """Base for SOAP 1.1 department systems described by a WSDL file shipped with the adapter."""

    protocol: ClassVar[str] = "soap"
    wsdl: ClassVar[Path]
    """The department's WSDL, vendored beside the adapter: start-up never waits on the network."""
    encoding: ClassVar[str] = "utf-8"
    """The character encoding the department reads (a legacy system may want GB18030)."""
    credentials: ClassVar[tuple[str, ...]] = ("username", "password")
    Options: ClassVar[type[BaseModel]] = SoapOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = load_client(self.wsdl)
        service = next(iter(self.client.wsdl.services.values()))
        self.binding = next(iter(service.ports.values())).binding

    def envelope(self, operation: str, **body: Any) -> Payload:
        """Serialize one operation's request from the WSDL, in the department's encoding."""
        try:
            node = self.client.create_message(self.client.service, operation, **body)
        except (zeep.exceptions.ValidationError, TypeError) as exc:
            raise PermanentError(
                "payload_invalid", f"cannot build {operation} from the record: {exc}"
            ) from exc
        return Payload(operation, self._serialize(node), f"text/xml; charset={self.encoding}")

    def _serialize(self, node: etree._Element) -> bytes:
        data = etree.tostring(node, encoding=self.encoding, xml_declaration=True)
        assert isinstance(data, bytes)  # an encoding other than "unicode" always gives bytes
        return data

    def _secure(self, body: bytes) -> bytes:
        """Add a fresh WS-Security UsernameToken; a digest's nonce and time must be new per send."""
        if not self.credentials:
            return body
        envelope = etree.fromstring(body)
        token = UsernameToken(
            self.department.secret("username"),
            self.department.secret("password"),
            use_digest=getattr(self.options, "password_digest", False),
        )
        envelope, _ = token.apply(envelope, {})
        return self._serialize(envelope)

    async def call(self, payload: Payload, context: DeliveryContext | None = None) -> Any:
        """Send a prepared envelope and return zeep's reading of the reply; faults raise."""
        operation = self.binding.get(payload.operation)
        headers = tracing_headers(context)
        headers["Content-Type"] = payload.content_type
        headers["SOAPAction"] = f'"{operation.soapaction or ""}"'
        response = await exchange(
            self.session,
            self.department,
            "POST",
            self.department.endpoint,
            body=self._secure(payload.body),
            headers=headers,
        )
        reply = _ZeepResponse(response.status, response.body, response.headers, response.charset)
        try:
            return self.binding.process_reply(self.client, operation, reply)
        except zeep.exceptions.Fault as fault:
            raise self.fault_error(fault, response.status) from fault
        except (
            zeep.exceptions.TransportError,
            zeep.exceptions.XMLSyntaxError,
            etree.XMLSyntaxError,
        ) as exc:
            transient = response.status >= 500 or response.status == 200
            error = TransientError if transient else PermanentError
            raise error(
                "malformed_response" if response.status == 200 else f"http_{response.status}",
                f"unreadable SOAP answer (HTTP {response.status}): {str(exc)[:200]}",
                http_status=response.status,
            ) from exc
        except zeep.exceptions.ValidationError as exc:
            raise TransientError(
                "malformed_response",
                f"the SOAP answer does not match the WSDL: {exc}",
                http_status=response.status,
            ) from exc

    def fault_code(self, fault: zeep.exceptions.Fault) -> str | None:
        """The department's own error code inside a fault's detail: the first *Code element."""
        if fault.detail is None:
            return None
        for node in fault.detail.iter():
            if isinstance(node.tag, str) and _local(node.tag).lower() in ("code", "errorcode"):
                return (node.text or "").strip() or None
        return None

    def fault_error(self, fault: zeep.exceptions.Fault, http_status: int) -> DepartmentError:
        """Client faults are the content's fault (permanent); Server faults and others transient."""
        kind = _local(fault.code)
        code = self.fault_code(fault) or kind or "fault"
        message = (fault.message or "").strip() or "SOAP fault without a fault string"
        if kind.startswith("Client"):
            return PermanentError(code, message, http_status=http_status, fault_code=fault.code)
        return TransientError(code, message, http_status=http_status, fault_code=fault.code)

    async def send(self, payload: Payload, context: DeliveryContext) -> Receipt:
        """Send the stored envelope and read the department's receipt from its answer."""
        return self.receipt_from(payload.operation, await self.call(payload, context))

    @abstractmethod
    def receipt_from(self, operation: str, result: Any) -> Receipt:
        """Read the receipt (reference number and outputs) from zeep's reading of the reply."""
