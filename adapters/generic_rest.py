"""A REST department connected by configuration alone: the mapping lives in its [options]."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.mapping_rules import Answer, Call, Lookup, Operation, Status, build, dig
from hub import hookimpl
from hub.model.catalog import Step
from hub.model.record import ApplicationRecord
from hub.plugin.adapter import (
    Adapter,
    DeliveryContext,
    DepartmentStatus,
    Payload,
    PermanentError,
    Receipt,
    TransientError,
)
from hub.transports.rest import RestAdapter, RestResponse


class GenericRestOptions(BaseModel):
    """A department's [options] for the generic REST adapter (see docs/writing-an-adapter.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth: Literal["bearer", "basic", "none"] = "bearer"
    idempotency_header: str | None = "Idempotency-Key"
    operations: dict[str, Operation] = Field(min_length=1)
    status: Status
    answer: Answer | None = Field(
        default=None, description="for systems that answer 200 with a code"
    )
    lookup: Lookup | None = None


def scope(
    record: ApplicationRecord | None, context: DeliveryContext | None, **more: Any
) -> dict[str, Any]:
    """What a request's fields may read."""
    values: dict[str, Any] = dict(more)
    if record is not None:
        values |= {
            "applicant": record.applicant.model_dump(mode="json"),
            "form": record.form,
            "matter": record.matter,
        }
    if context is not None:
        values |= {
            "inputs": dict(context.inputs),
            "delivery_key": context.delivery_key,
            "application_id": context.application_id,
            "previous_reference": context.previous_reference,
            "correction": context.correction,
        }
    return values


class GenericRestAdapter(RestAdapter):
    """Any REST system whose mapping fits in a configuration file."""

    name: ClassVar[str] = "generic_rest"
    operations: ClassVar[frozenset[str]] = frozenset()  # per department: its [options.operations]
    Options: ClassVar[type[BaseModel]] = GenericRestOptions
    options: GenericRestOptions

    @classmethod
    def operations_for(cls, options: BaseModel) -> frozenset[str]:
        assert isinstance(options, GenericRestOptions)
        return frozenset(options.operations)

    @classmethod
    def credentials_for(cls, options: BaseModel) -> tuple[str, ...]:
        assert isinstance(options, GenericRestOptions)
        return {"bearer": ("token",), "basic": ("username", "password"), "none": ()}[options.auth]

    def auth_scheme(self) -> str:
        return self.options.auth

    def idempotency_header_name(self) -> str | None:
        return self.options.idempotency_header

    def _payload(self, call: Call, values: dict[str, Any]) -> Payload:
        path = call.path.format(**{k: v for k, v in values.items() if isinstance(v, str | int)})
        body = build(call.body, values)
        if call.method == "GET":
            return Payload(f"GET {path}", b"", "")
        if call.format == "form":
            return self.form_payload(call.method, path, {k: str(v) for k, v in body.items()})
        return self.json_payload(call.method, path, body)

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        return self._payload(self.options.operations[step.operation], scope(record, context))

    def check_body(self, response: RestResponse) -> None:
        rule = self.options.answer
        if rule is None or not response.body:
            return
        refused = rule.verdict(response.json())
        if refused is not None:
            code, message = refused
            error = TransientError if rule.is_transient(code) else PermanentError
            raise error(code, message, http_status=response.status)

    def receipt_from(self, response: RestResponse) -> Receipt:
        raise AssertionError("send() reads the receipt: it knows which operation was sent")

    async def send(self, payload: Payload, context: DeliveryContext) -> Receipt:
        operation = self._operation_of(payload)
        return self._receipt((await self.request(payload, context)).json(), operation)

    def _operation_of(self, payload: Payload) -> Operation:
        """The configured operation a stored payload was built for (by its method and path)."""
        method, _, path = payload.operation.partition(" ")
        for operation in self.options.operations.values():
            template = re.escape(operation.path).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
            if operation.method == method and re.fullmatch(pattern, path):
                return operation
        raise PermanentError(
            "mapping_changed", f"no configured operation sends {payload.operation}"
        )

    def _receipt(self, answer: Any, operation: Operation) -> Receipt:
        reference = dig(answer, operation.reference)
        if reference in (None, ""):
            raise TransientError(
                "malformed_response",
                f"no {operation.reference} in the answer",
                outcome_unknown=True,
            )
        outputs = {name: dig(answer, path) for name, path in operation.outputs.items()}
        return Receipt(str(reference), outputs)

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        rule = self.options.status
        answer = (
            await self.request(self._payload(rule, scope(None, None, reference=receipt.reference)))
        ).json()
        code = str(dig(answer, rule.state))
        if code not in rule.states:
            raise TransientError(
                "unknown_status",
                f"{self.department.code} answered status {code!r}, not in the table",
            )
        message = dig(answer, rule.message) if rule.message else None
        return DepartmentStatus(
            rule.states[code], code=code, message=str(message) if message else None
        )

    def offers(self, method: str) -> bool:
        return method == "lookup" and self.options.lookup is not None

    async def lookup(self, delivery_key: str) -> Receipt | None:
        rule = self.options.lookup
        if rule is None:  # the department deduplicates on the delivery key instead
            raise NotImplementedError
        answer = (
            await self.request(self._payload(rule, scope(None, None, delivery_key=delivery_key)))
        ).json()
        reference = dig(answer, rule.reference)
        return Receipt(str(reference)) if reference not in (None, "") else None


@hookimpl
def hub_adapters() -> list[type[Adapter]]:
    """Offer the generic REST adapter."""
    return [GenericRestAdapter]
