"""What a simulated department has received and registered, and how it decides each case."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Decision(StrEnum):
    """Where a simulated case stands, before each system spells it in its own codes."""

    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    NEEDS_CORRECTION = "needs_correction"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINAL = frozenset({Decision.APPROVED, Decision.REJECTED, Decision.CANCELLED})


class DecisionPolicy(BaseModel):
    """How a simulated department decides: after how long, and what."""

    model_config = ConfigDict(extra="forbid")

    review_after: float = Field(default=0.5, ge=0, description="seconds until in review")
    decide_after: float = Field(default=2.0, ge=0, description="seconds until decided")
    outcome: Decision = Decision.APPROVED


@dataclass
class Case:
    """One registered submission."""

    reference: str
    delivery_key: str
    application_id: str
    operation: str
    fields: dict[str, Any]
    received_at: float = field(default_factory=time.monotonic)
    outputs: dict[str, Any] = field(default_factory=dict)
    forced: Decision | None = None
    corrections: int = 0
    pushed: Decision | None = None  # the last decision told to the hub by callback

    def decision(self, policy: DecisionPolicy, now: float | None = None) -> Decision:
        """The case's state now, under the department's decision policy."""
        if self.forced is not None:
            return self.forced
        age = (time.monotonic() if now is None else now) - self.received_at
        if age >= policy.decide_after:
            return policy.outcome
        return Decision.IN_REVIEW if age >= policy.review_after else Decision.ACCEPTED


class Ledger:
    """Every submission a simulated system took in, by reference and by delivery key."""

    def __init__(self, prefix: str, *, deduplicate: bool = True) -> None:
        self.prefix = prefix
        self.deduplicate = deduplicate
        self.cases: dict[str, Case] = {}
        self.by_key: dict[str, list[str]] = {}
        self.requests: Counter[str] = Counter()
        self.traces: list[dict[str, str | None]] = []
        self._serial = itertools.count(1)

    def submit(
        self,
        delivery_key: str,
        application_id: str,
        operation: str,
        fields: dict[str, Any],
        outputs: dict[str, Any] | None = None,
        correction_of: str | None = None,
    ) -> Case:
        """Register a submission; when deduplicating, a repeated key returns the first case.

        A correction (naming the case it corrects) updates that case, which is reviewed again.
        """
        self.requests[delivery_key] += 1
        corrected = self.cases.get(correction_of) if correction_of else None
        if corrected is not None and delivery_key not in self.by_key:
            corrected.fields.update(fields)
            corrected.received_at = time.monotonic()
            corrected.forced = None
            corrected.corrections += 1
            self.by_key[delivery_key] = [corrected.reference]
            return corrected
        if self.deduplicate and delivery_key in self.by_key:
            return self.cases[self.by_key[delivery_key][0]]
        reference = f"{self.prefix}{time.strftime('%Y%m%d')}{next(self._serial):06d}"
        case = Case(
            reference, delivery_key, application_id, operation, fields, outputs=outputs or {}
        )
        self.cases[reference] = case
        self.by_key.setdefault(delivery_key, []).append(reference)
        return case

    def find(self, delivery_key: str) -> Case | None:
        """The first case registered under a delivery key, if any."""
        references = self.by_key.get(delivery_key)
        return self.cases[references[0]] if references else None

    def received(self) -> dict[str, Any]:
        """What this system received, as /_sim/received answers it."""
        return {
            "total_requests": sum(self.requests.values()),
            "total_cases": len(self.cases),
            "deduplicates": self.deduplicate,
            "traces": self.traces,
            "by_key": {
                key: {"requests": self.requests[key], "cases": len(self.by_key.get(key, []))}
                for key in self.requests
            },
            "cases": [
                {
                    "reference": c.reference,
                    "delivery_key": c.delivery_key,
                    "application_id": c.application_id,
                    "operation": c.operation,
                    "fields": c.fields,
                    "outputs": c.outputs,
                    "corrections": c.corrections,
                }
                for c in self.cases.values()
            ],
        }
