"""The adapter contract: what a department adapter offers the hub and what it may raise."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from hub.model.catalog import Step
    from hub.model.departments import Department
    from hub.model.record import ApplicationRecord


class DepartmentState(StrEnum):
    """The one vocabulary every department's own states are mapped into."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_CORRECTION = "needs_correction"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DepartmentError(Exception):
    """A department call failed; carries the department's own code and message."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        fault_code: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.fault_code = fault_code


class TransientError(DepartmentError):
    """Worth trying again: timeouts, connection errors, 5xx, SOAP Server faults, busy codes."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        fault_code: str | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(code, message, http_status=http_status, fault_code=fault_code)
        self.retry_after = retry_after
        # True when the request may have reached the department (a timeout after sending).
        self.outcome_unknown = outcome_unknown


class PermanentError(DepartmentError):
    """The department refuses the content; sending it again would be refused again."""


@dataclass(frozen=True, slots=True)
class Payload:
    """The exact request built for one delivery, stored once and sent as is on every try."""

    operation: str
    body: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the body: the same on every retry and replay of one delivery."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a department returns on acceptance: its reference number, plus outputs."""

    reference: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    state: DepartmentState = DepartmentState.SUBMITTED


@dataclass(frozen=True, slots=True)
class DepartmentStatus:
    """A department's decision so far, in the hub's vocabulary, beside its own code and words."""

    state: DepartmentState
    code: str | None = None
    message: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """Who a call is for: sent along so a department's logs can be matched with the hub's."""

    application_id: str
    delivery_key: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    correction: int = 0
    """0 for the first filing; n for the n-th corrected record sent after a request to correct."""
    previous_reference: str | None = None
    """With a correction: the department's reference of the filing it corrects."""


class NoOptions(BaseModel):
    """The options of an adapter that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapter(ABC):
    """Speaks one department system's protocol; one instance per department that names it.

    An adapter maps and sends. It never touches the store and never retries: the dispatcher
    does both, and reads the department's answer through the errors raised here.
    """

    name: ClassVar[str]
    """The name a department's config uses in `adapter = "..."`."""
    protocol: ClassVar[str]
    """"soap", "rest", or another word for people reading `hub adapters`."""
    operations: ClassVar[frozenset[str]]
    """The step operations this adapter can carry out (a matter's `steps.*.operation`)."""
    credentials: ClassVar[tuple[str, ...]] = ()
    """The credential names a department using this adapter must configure."""
    Options: ClassVar[type[BaseModel]] = NoOptions
    """The model of the department's `[options]` table, checked by `hub check-config`."""

    @classmethod
    def operations_for(cls, options: BaseModel) -> frozenset[str]:
        """The operations it can carry out for a department with these options (for adapters
        whose operations are configuration, not code)."""
        return cls.operations

    @classmethod
    def credentials_for(cls, options: BaseModel) -> tuple[str, ...]:
        """The credentials a department with these options must configure."""
        return cls.credentials

    def offers(self, method: str) -> bool:
        """Whether this adapter, as configured, offers an optional method; by default, when its
        class implements it. A configuration-driven adapter answers from its options."""
        return getattr(type(self), method) is not getattr(Adapter, method)

    async def probe(self) -> str | None:
        """Whether the department's endpoint answers at all: None if it does, else why not.

        Any HTTP answer counts (even 404: something is listening); `hub check-config --online`
        calls it. An adapter may ask something more telling.
        """
        try:
            async with self.session.get(
                self.department.endpoint,
                timeout=aiohttp.ClientTimeout(total=min(self.department.timeout, 10)),
                allow_redirects=False,
            ):
                return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def __init__(self, department: Department, session: aiohttp.ClientSession) -> None:
        self.department = department
        self.session = session
        self.options = self.Options.model_validate(department.options)

    @abstractmethod
    def prepare(self, record: ApplicationRecord, step: Step, context: DeliveryContext) -> Payload:
        """Map the unified record to this department's request, once per delivery."""

    @abstractmethod
    async def send(self, payload: Payload, context: DeliveryContext) -> Receipt:
        """Send a prepared payload; return the receipt or raise TransientError/PermanentError."""

    async def submit(
        self, record: ApplicationRecord, step: Step, context: DeliveryContext
    ) -> Receipt:
        """Prepare and send in one go (the dispatcher stores the payload in between)."""
        return await self.send(self.prepare(record, step, context), context)

    @abstractmethod
    async def query_status(self, receipt: Receipt) -> DepartmentStatus:
        """Ask the department how far it has got with a submission it accepted."""

    async def lookup(self, delivery_key: str) -> Receipt | None:
        """Find an earlier submission by delivery key, for systems that do not deduplicate."""
        raise NotImplementedError

    async def cancel(self, receipt: Receipt) -> None:
        """Withdraw a submission the department has not decided yet."""
        raise NotImplementedError

    def parse_callback(self, body: bytes, content_type: str) -> tuple[str, DepartmentStatus]:
        """Read a decision the department pushed: (its reference number, the status).

        Raise ValueError for a body that is not a callback of this department's. The hub has
        already checked the signature; the adapter only reads.
        """
        raise NotImplementedError


def supports(adapter: Adapter | type[Adapter], method: str) -> bool:
    """Whether an adapter offers one of the optional methods (`lookup`, `cancel`,
    `parse_callback`): its class implements it, and (for an instance) its options allow it."""
    if isinstance(adapter, type):
        return getattr(adapter, method) is not getattr(Adapter, method)
    return adapter.offers(method)
