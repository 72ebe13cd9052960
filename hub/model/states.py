"""Delivery states, and the application status that derives from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DeliveryState(StrEnum):
    """Where one step of one application stands on its way to, and at, its department."""

    WAITING = "waiting"  # for the steps it runs after
    PENDING = "pending"  # due to be sent, or to be retried at next_attempt_at
    SUBMITTED = "submitted"  # the department accepted it and gave a receipt
    IN_REVIEW = "in_review"
    NEEDS_CORRECTION = "needs_correction"
    APPROVED = "approved"
    REJECTED = "rejected"  # the department refused the content
    CANCELLED = "cancelled"
    FAILED = "failed"  # the hub could not build it (a mapping or configuration fault)
    DEAD = "dead"  # retries exhausted: a dead letter, waiting for an operator's replay


ACCEPTED = frozenset(
    {
        DeliveryState.SUBMITTED,
        DeliveryState.IN_REVIEW,
        DeliveryState.NEEDS_CORRECTION,
        DeliveryState.APPROVED,
    }
)
"""States in which the department holds the filing: the steps after it on receipt may go."""

NOT_YET_DELIVERED = frozenset({DeliveryState.WAITING, DeliveryState.PENDING})
UNDECIDED = frozenset(
    {DeliveryState.SUBMITTED, DeliveryState.IN_REVIEW, DeliveryState.NEEDS_CORRECTION}
)
"""States in which the department holds the filing and has not decided: asked on a schedule."""
FINAL = frozenset({DeliveryState.APPROVED, DeliveryState.REJECTED, DeliveryState.CANCELLED})
"""Decisions: nothing changes a delivery once it is in one of these."""
BLOCKING = frozenset(
    {DeliveryState.REJECTED, DeliveryState.CANCELLED, DeliveryState.FAILED, DeliveryState.DEAD}
)
"""States after which the steps that run after it can never go."""
WITHDRAWN_IF_BLOCKED = frozenset({*UNDECIDED, DeliveryState.PENDING, DeliveryState.WAITING})
"""States of a step sent on receipt that a predecessor's refusal withdraws (or cancels)."""
WITHDRAWAL_FAILED = "withdrawal_failed"
"""The flag of a delivery its department could not be made to withdraw: an operator must act."""
WITHDRAWN_BECAUSE = "withdrawn_because"
"""The flag of a delivery withdrawn because a step before it ended refused: which, and how."""


class ApplicationStatus(StrEnum):
    """One truthful status of an application, derived from its deliveries."""

    SUBMITTED = "submitted"  # acknowledged, no department has it yet
    IN_PROGRESS = "in_progress"
    NEEDS_CORRECTION = "needs_correction"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"  # the hub could not deliver a step: an operator must act


def aggregate(states: Iterable[str]) -> ApplicationStatus:
    """The application's status from its deliveries' states, most telling first."""
    found = {DeliveryState(s) for s in states}
    if DeliveryState.REJECTED in found:
        return ApplicationStatus.REJECTED
    if DeliveryState.NEEDS_CORRECTION in found:
        return ApplicationStatus.NEEDS_CORRECTION
    if found & {DeliveryState.FAILED, DeliveryState.DEAD}:
        return ApplicationStatus.FAILED
    if found == {DeliveryState.APPROVED}:
        return ApplicationStatus.APPROVED
    if found and found <= {DeliveryState.CANCELLED, DeliveryState.APPROVED}:
        return ApplicationStatus.CANCELLED
    if found <= NOT_YET_DELIVERED:
        return ApplicationStatus.SUBMITTED
    return ApplicationStatus.IN_PROGRESS


def resolve_inputs(
    uses: Mapping[str, str], outputs_by_step: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A step's inputs from the outputs of the steps it reads ("step.output"; "step.reference")."""
    inputs = {}
    for name, ref in uses.items():
        step, _, output = ref.partition(".")
        inputs[name] = outputs_by_step.get(step, {}).get(output)
    return inputs


@dataclass(frozen=True, slots=True)
class Dependencies:
    """What a step waits for: its predecessors' approval, or only their receipt."""

    approved: tuple[str, ...] = ()
    received: tuple[str, ...] = ()

    @property
    def steps(self) -> tuple[str, ...]:
        """Every predecessor, approval first."""
        return self.approved + self.received

    def stored(self) -> list[str | dict[str, str]]:
        """As the delivery's frozen plan keeps them (its `after` column): a name waits for that
        step's approval, {"step": name, "on": "received"} only for its receipt."""
        return [*self.approved, *({"step": name, "on": "received"} for name in self.received)]

    @classmethod
    def read(cls, stored: Iterable[Any]) -> Dependencies:
        """From the stored plan; a plain list of names (filed before 0.3) waits for approval."""
        approved: list[str] = []
        received: list[str] = []
        for item in stored or ():
            if isinstance(item, Mapping):
                (received if item.get("on") == "received" else approved).append(str(item["step"]))
            else:
                approved.append(str(item))
        return cls(tuple(approved), tuple(received))

    def met(self, states: Mapping[str, DeliveryState]) -> bool:
        """Whether every predecessor is as far as this step waits for."""
        return all(states[n] is DeliveryState.APPROVED for n in self.approved) and all(
            states[n] in ACCEPTED for n in self.received
        )

    def blocked_by(self, states: Mapping[str, DeliveryState]) -> str | None:
        """The first predecessor that ended where this step can never go, if any."""
        return next((n for n in self.steps if states[n] in BLOCKING), None)


def inputs_given(
    uses: Mapping[str, str],
    outputs_by_step: Mapping[str, Mapping[str, Any]],
    states: Mapping[str, DeliveryState],
) -> bool:
    """Whether every output a step reads is there, or will never come: a department gives some
    outputs only with its decision (a credit code exists once registration is approved), so a
    step reading one waits until its source step is approved; then it goes with what there is."""
    for ref in uses.values():
        step, _, output = ref.partition(".")
        given = outputs_by_step.get(step, {}).get(output) is not None
        if not given and states.get(step) is not DeliveryState.APPROVED:
            return False
    return True
