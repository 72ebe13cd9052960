"""The REST base adapter: JSON and form bodies over aiohttp, statuses and legacy codes mapped."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import aiohttp

from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    Payload,
    PermanentError,
    Receipt,
    TransientError,
)
from hub.transports.http import HttpResponse, exchange, tracing_headers

# Statuses that say "not now" rather than "not this": the same request may well succeed later.
# 401 and 403 are here too: refused credentials are the hub's configuration to mend, never the
# applicant's content, so they must end as a dead letter an operator replays, not a rejection.
TRANSIENT_STATUSES = frozenset({401, 403, 408, 425, 429}) | frozenset(range(500, 600))


class RestResponse(HttpResponse):
    """A REST answer with its JSON body decoded on demand."""

    def json(self) -> Any:
        """The decoded JSON body; an undecodable body is a transient fault of the department."""
        try:
            return json.loads(self.body.decode(self.charset or "utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TransientError(
                "malformed_response",
                f"the answer (HTTP {self.status}) is not valid JSON: {exc}",
                http_status=self.status,
                outcome_unknown=True,
            ) from exc


class RestAdapter(Adapter):
    """Base for REST department systems; subclasses map the record and read the receipt."""

    protocol: ClassVar[str] = "rest"
    auth: ClassVar[Literal["bearer", "basic", "none"]] = "bearer"
    """Bearer uses the `token` credential; basic uses `username` and `password`."""
    idempotency_header: ClassVar[str | None] = "Idempotency-Key"
    """Where the delivery key goes, for systems that deduplicate on a header; None if not."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The credentials a department must configure follow from the auth scheme.
        if "credentials" not in cls.__dict__:
            cls.credentials = {"bearer": ("token",), "basic": ("username", "password"), "none": ()}[
                cls.auth
            ]

    def json_payload(self, method: str, path: str, body: Mapping[str, Any]) -> Payload:
        """A payload with a JSON body (compact, UTF-8, keys in the order given)."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return Payload(f"{method} {path}", data, "application/json; charset=utf-8")

    def form_payload(
        self, method: str, path: str, fields: Mapping[str, str], *, encoding: str = "utf-8"
    ) -> Payload:
        """A payload with an application/x-www-form-urlencoded body in the given encoding."""
        data = urlencode(fields, encoding=encoding).encode("ascii")
        return Payload(
            f"{method} {path}", data, f"application/x-www-form-urlencoded; charset={encoding}"
        )

    def _headers(self, payload: Payload, context: DeliveryContext | None) -> dict[str, str]:
        headers = tracing_headers(context)
        headers["Accept"] = "application/json"
        if payload.body:
            headers["Content-Type"] = payload.content_type
        scheme = self.auth_scheme()
        if scheme == "bearer":
            headers["Authorization"] = f"Bearer {self.department.secret('token')}"
        elif scheme == "basic":
            headers["Authorization"] = aiohttp.encode_basic_auth(
                self.department.secret("username"), self.department.secret("password")
            )
        header = self.idempotency_header_name()
        if context is not None and header:
            headers[header] = context.delivery_key
        return headers

    def idempotency_header_name(self) -> str | None:
        """The header the delivery key goes in (the class's, unless configured)."""
        return self.idempotency_header

    def auth_scheme(self) -> str:
        """How this department authenticates calls (the class's `auth`, unless configured)."""
        return self.auth

    async def request(
        self, payload: Payload, context: DeliveryContext | None = None
    ) -> RestResponse:
        """Send a payload; a failure status or legacy error code raises the matching error."""
        method, _, path = payload.operation.partition(" ")
        raw = await exchange(
            self.session,
            self.department,
            method,
            self.department.endpoint + path,
            body=payload.body,
            headers=self._headers(payload, context),
        )
        response = RestResponse(raw.status, raw.headers, raw.body)
        self.check_status(response)
        self.check_body(response)
        return response

    def check_status(self, response: RestResponse) -> None:
        """Map HTTP statuses: 2xx passes, 401/403/408/429/5xx are transient, other 4xx permanent."""
        if 200 <= response.status < 300:
            return
        code, message = self.error_of(response)
        if response.status in TRANSIENT_STATUSES:
            raise TransientError(
                code,
                message,
                http_status=response.status,
                retry_after=response.retry_after(),
                # 503 says "not taken in"; other 5xx may come after the work was done.
                outcome_unknown=response.status >= 500 and response.status != 503,
            )
        raise PermanentError(code, message, http_status=response.status)

    def error_of(self, response: RestResponse) -> tuple[str, str]:
        """The department's own code and message from an error answer, as well as it can tell."""
        fallback = (f"http_{response.status}", f"HTTP {response.status}")
        try:
            body = json.loads(response.body.decode(response.charset or "utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return fallback
        if isinstance(body, dict):
            error = body.get("error", body)
            if isinstance(error, dict) and "code" in error:
                return str(error["code"]), str(error.get("message") or error.get("msg") or "")
        return fallback

    def check_body(self, response: RestResponse) -> None:
        """Raise for errors a legacy system reports inside a 200 answer; none by default."""

    async def send(self, payload: Payload, context: DeliveryContext) -> Receipt:
        """Send the stored payload and read the department's receipt from its answer."""
        return self.receipt_from(await self.request(payload, context))

    @abstractmethod
    def receipt_from(self, response: RestResponse) -> Receipt:
        """Read the receipt (reference number and outputs) from a successful answer."""
