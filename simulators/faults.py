"""Fault injection: latency, errors, hangs, connection resets and malformed answers, on demand."""

from __future__ import annotations

import random
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class FaultKind(StrEnum):
    """What can go wrong with one request.

    `error` and `hang` strike before the system processes the request (nothing is registered);
    `reset` and `malformed` strike after it (the system registered the request but the answer is
    lost), which is the case that tests whether the caller can avoid sending twice.
    """

    ERROR = "error"
    HANG = "hang"
    RESET = "reset"
    MALFORMED = "malformed"


class Faults(BaseModel):
    """The faults a simulated system injects; set at start or with PUT /_sim/faults."""

    model_config = ConfigDict(extra="forbid")

    latency: float = Field(default=0.0, ge=0, le=600, description="seconds added to every call")
    error_rate: float = Field(default=0.0, ge=0, le=1)
    hang_rate: float = Field(default=0.0, ge=0, le=1)
    reset_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    fail_next: int = Field(default=0, ge=0, description="force this many next calls to fail")
    fail_kind: FaultKind = FaultKind.ERROR
    seed: int | None = None

    def total_rate(self) -> float:
        """The share of calls that fail at random."""
        return self.error_rate + self.hang_rate + self.reset_rate + self.malformed_rate


class FaultPlan:
    """Draws the fault, if any, for each incoming call under the current Faults."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.set(faults or Faults())

    def set(self, faults: Faults) -> None:
        """Replace the faults; the random draws restart from the seed, if one is given."""
        if faults.total_rate() > 1:
            raise ValueError("the fault rates add up to more than 1")
        self.faults = faults
        self.remaining = faults.fail_next
        self.random = random.Random(faults.seed)

    def draw(self) -> FaultKind | None:
        """The fault for the next call, or None when it should be served normally."""
        if self.remaining > 0:
            self.remaining -= 1
            return self.faults.fail_kind
        r = self.random.random()
        f = self.faults
        for kind, rate in (
            (FaultKind.ERROR, f.error_rate),
            (FaultKind.HANG, f.hang_rate),
            (FaultKind.RESET, f.reset_rate),
            (FaultKind.MALFORMED, f.malformed_rate),
        ):
            if r < rate:
                return kind
            r -= rate
        return None
