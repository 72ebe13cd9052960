"""Delivery states, and the application status that derives from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
"""States in which the department holds the filing: the steps after it may go."""

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
