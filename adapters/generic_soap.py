"""A SOAP department connected by configuration alone: its WSDL and a mapping in [options]."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.generic_rest import scope
from adapters.mapping_rules import Body, build, dig
from hub import hookimpl
from hub.model.catalog import Step
from hub.model.departments import Department
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
from hub.transports.soap import SoapAdapter, load_client


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SoapOperation(_Rule):
    """One operation steps may ask for: the WSDL operation, its body, where the receipt is."""

    operation: str = Field(description="the WSDL operation's name")
    body: Body = {}
    reference: str = Field(description="path of the reference number in the answer")
    outputs: dict[str, str] = {}


class SoapStatus(_Rule):
    """The WSDL operation that reports a decision, and the department's codes mapped."""

    operation: str
    body: Body = {}
    state: str
    message: str | None = None
    states: dict[str, DepartmentState] = Field(min_length=1)


class GenericSoapOptions(_Rule):
    """A department's [options] for the generic SOAP adapter."""

    wsdl: Path = Field(description="the department's WSDL file (relative to where the hub runs)")
    encoding: str = "utf-8"
    ws_security: bool = True
    password_digest: bool = False
    operations: dict[str, SoapOperation] = Field(min_length=1)
    status: SoapStatus

    @model_validator(mode="after")
    def _in_the_wsdl(self) -> Self:
        if not self.wsdl.is_file():
            raise ValueError(f"wsdl: no file {self.wsdl}")
        client = load_client(self.wsdl.resolve())
        service = next(iter(client.wsdl.services.values()))
        offered = set(next(iter(service.ports.values())).binding.all())
        named = {name: op.operation for name, op in self.operations.items()} | {
            "status": self.status.operation
        }
        missing = {name: operation for name, operation in named.items() if operation not in offered}
        if missing:
            listed = ", ".join(f"{name}: {operation}" for name, operation in missing.items())
            has = ", ".join(sorted(offered))
            raise ValueError(f"not operations of {self.wsdl.name} ({listed}); it has {has}")
        return self


class GenericSoapAdapter(SoapAdapter):
    """Any SOAP system whose mapping fits in a configuration file."""

    name: ClassVar[str] = "generic_soap"
    operations: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type[BaseModel]] = GenericSoapOptions
    options: GenericSoapOptions

    def __init__(self, department: Department, session: aiohttp.ClientSession) -> None:
        options = GenericSoapOptions.model_validate(department.options)
        # What a coded SOAP adapter declares on its class, this one reads from its department.
        self.wsdl = options.wsdl.resolve()  # type: ignore[misc]
        self.encoding = options.encoding  # type: ignore[misc]
        self.credentials = self.credentials_for(options)  # type: ignore[misc]
        super().__init__(department, session)

    @classmethod
    def operations_for(cls, options: BaseModel) -> frozenset[str]:
        assert isinstance(options, GenericSoapOptions)
        return frozenset(options.operations)

    @classmethod
    def credentials_for(cls, options: BaseModel) -> tuple[str, ...]:
        assert isinstance(options, GenericSoapOptions)
        return ("username", "password") if options.ws_security else ()

    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        operation = self.options.operations[step.operation]
        return self.envelope(operation.operation, **build(operation.body, scope(record, context)))

    def receipt_from(self, operation: str, result: Any) -> Receipt:
        rule = next(o for o in self.options.operations.values() if o.operation == operation)
        reference = dig(result, rule.reference)
        if reference in (None, ""):
            raise TransientError(
                "malformed_response", f"no {rule.reference} in the answer", outcome_unknown=True
            )
        return Receipt(
            str(reference), {name: dig(result, path) for name, path in rule.outputs.items()}
        )

    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        rule = self.options.status
        body = build(rule.body, scope(None, None, reference=receipt.reference))
        result = await self.call(self.envelope(rule.operation, **body))
        code = str(dig(result, rule.state))
        if code not in rule.states:
            raise TransientError(
                "unknown_status",
                f"{self.department.code} answered status {code!r}, not in the table",
            )
        message = dig(result, rule.message) if rule.message else None
        return DepartmentStatus(
            rule.states[code], code=code, message=str(message) if message else None
        )


@hookimpl
def hub_adapters() -> list[type[Adapter]]:
    """Offer the generic SOAP adapter."""
    return [GenericSoapAdapter]
