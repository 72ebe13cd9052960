"""The shapes of the API's answers, as pydantic models: the OpenAPI document is made from them,
and tests check every real answer against it, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.model.acceptance import AcceptanceRule
from hub.model.states import ApplicationStatus, DeliveryState


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldProblem(_Shape):
    """One thing wrong with one field."""

    field: str = Field(description="dotted path, e.g. applicant.id_number or query.limit")
    code: str = Field(description="machine code, e.g. required, checksum, format, unknown_field")
    message: str = Field(description="in English")
    message_zh: str | None = Field(
        default=None,
        description="in Chinese, for the applicant: given with every not_accepted.* problem",
    )


class Problem(BaseModel):
    """RFC 9457 problem details; validation problems list every field in `errors`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None


class DueDates(_Shape):
    """Time limits in working days, as dates in the center's time zone."""

    statutory: str = Field(description="ISO date the statutory limit ends")
    promised: str = Field(description="ISO date the center's promised limit ends")
    beyond_calendar: bool = Field(
        description=(
            "a limit runs into a year the holiday calendar does not cover: that part was counted "
            "with weekends alone, so the date may be too early"
        )
    )


class Due(DueDates):
    """Time limits now: the clock stops while the applicant owes a correction."""

    clock: Literal["running", "stopped", "suspended", "done"] = Field(
        description="stopped while a correction is owed, suspended by a supervisor (art. 45)"
    )
    overdue: bool = Field(description="past the promised limit and not decided")
    statutory_overdue: bool
    supervision: Literal["normal", "amber", "red", "done"] = Field(
        description="效能监察 as last recorded: amber near the promised date, red past it"
    )
    extension_days: int = Field(description="working days approved extensions added, in all")


class StepDue(_Shape):
    """A step's own limit, where its matter gives one (from the day it reached its department)."""

    limit_days: int
    due: str | None
    supervision: Literal["normal", "amber", "red", "done"]


class Links(_Shape):
    self: str
    events: str
    track: str


class Acknowledgement(_Shape):
    """202: the application and its deliveries are committed. Print reference and query code on
    the applicant's receipt."""

    id: str
    status: Literal["submitted"]
    reference: str
    query_code: str = Field(description="six digits, with the reference for /api/v1/track")
    due: DueDates
    links: Links


class Attempt(_Shape):
    """One call to a department: a row of the sync log."""

    id: int
    kind: Literal["submit", "lookup", "query", "cancel"]
    number: int
    started_at: str
    duration_ms: float | None
    outcome: str | None = Field(
        description="accepted, transient, permanent, found, not_found, answered, cancelled or "
        "interrupted; null while the call is in flight"
    )
    error_code: str | None
    error_message: str | None
    http_status: int | None
    fault_code: str | None
    request_bytes: int | None
    response_bytes: int | None
    request_sha256: str | None
    response_sha256: str | None
    payload_sha256: str | None


class CodeAndMessage(_Shape):
    code: str | None
    message: str | None


class ReceiptRef(_Shape):
    reference: str


class WithdrawnBecause(_Shape):
    """The step whose end made a delivery sent on its receipt be withdrawn."""

    step: str
    state: str


class WithdrawalFailed(_Shape):
    """Why a department keeps a filing the hub asked it to withdraw."""

    code: str | None
    message: str | None
    at: str
    because: WithdrawnBecause | None = None


class DeliveryFlags(_Shape):
    """What the operators should know of a delivery; empty when nothing."""

    unrepresentable: dict[str, str] | None = Field(
        default=None,
        description="by field, the characters the department took but cannot store (its text "
        "setting says flag): its record may show them as ?",
    )
    withdrawn_because: WithdrawnBecause | None = Field(
        default=None,
        description="the step sent after another on its receipt is being (or was) withdrawn, "
        "because that step ended refused, cancelled, dead or failed",
    )
    withdrawal_failed: WithdrawalFailed | None = Field(
        default=None,
        description="the department could not be made to withdraw the filing (it cannot "
        "withdraw, refused to, decided already, or the withdrawal was dead-lettered): an "
        "operator must act (docs/operations.md, withdrawal_failed)",
    )


class DeliveryBase(_Shape):
    """One step of an application, at its department."""

    id: str
    step: str
    department: str
    operation: str
    delivery_key: str
    state: DeliveryState
    after: list[str] = Field(description="steps whose approval this one waits for")
    after_received: list[str] = Field(description="steps whose receipt is enough for this one")
    inputs: dict[str, Any] | None
    receipt: ReceiptRef | None
    outputs: dict[str, Any] | None
    department_status: CodeAndMessage | None
    attempt_count: int
    next_attempt_at: str | None
    next_poll_at: str | None
    decided_at: str | None
    cancel_requested: bool
    corrections: int
    correction_requests: int = Field(description="how often the department asked to correct")
    repeated_correction_request: bool = Field(
        description="asked to correct more than once: everything to correct is to be told at once"
    )
    record_version: int | None = Field(
        description="the record version its payload was built from (what the department was sent)"
    )
    flags: DeliveryFlags
    last_error: CodeAndMessage | None


class Delivery(DeliveryBase):
    attempts: list[Attempt]
    due: StepDue | None = Field(description="the step's own limit; null where it has none")


class DeliveryListed(DeliveryBase):
    application_id: str


class ApplicationSummary(_Shape):
    id: str
    reference: str | None
    matter: str
    status: ApplicationStatus
    created_at: str
    updated_at: str
    due: Due


class FiledBy(_Shape):
    """Who filed: the window (API client) and the clerk it named in X-Hub-Actor."""

    client: str | None
    person: str | None


class Application(ApplicationSummary):
    """An application: its record (personal data masked), its status and every delivery."""

    filed_by: FiledBy
    record_version: int
    record: dict[str, Any]
    deliveries: list[Delivery]


class RecordVersion(_Shape):
    """One version of an application's record: the filing is 1, each correction the next."""

    version: int
    filed_at: str
    filed_by: FiledBy
    record: dict[str, Any] = Field(description="masked like the application's record")


class RecordVersions(_Shape):
    items: list[RecordVersion]


class AuditEntry(_Shape):
    """One act: who (client and person), what, on what; field paths and codes, no personal data."""

    id: int
    at: str
    client: str = Field(description="the API client, `cli`, `hub` or `department:<code>`")
    person: str | None = Field(description="the person acting for it (X-Hub-Actor, --as)")
    kind: str = Field(description="e.g. application.file, application.correct, delivery.replay")
    subject: str | None
    application_id: str | None
    detail: dict[str, Any]


class AuditPage(_Shape):
    items: list[AuditEntry]
    next_cursor: int | None


class ApplicationPage(_Shape):
    items: list[ApplicationSummary]
    next_cursor: str | None


class DeliveryPage(_Shape):
    items: list[DeliveryListed]
    next_cursor: str | None


class MatterStep(_Shape):
    name: str
    label: str
    department: str
    after: list[str] = Field(description="steps whose approval this one waits for")
    after_received: list[str] = Field(
        description="steps whose receipt is enough: sent on it, withdrawn if that step is refused"
    )


class Matter(_Shape):
    """A service the center offers: its form fields, steps and time limits."""

    code: str
    name: str
    description: str
    applicant: list[Literal["person", "organization"]]
    statutory_days: int
    promised_days: int
    fields: dict[str, dict[str, Any]]
    acceptance: list[AcceptanceRule] = Field(
        description="what the window refuses at once (不予受理); see docs/acceptance.md"
    )
    steps: list[MatterStep]


class Matters(_Shape):
    items: list[Matter]


class Breaker(_Shape):
    state: Literal["closed", "open", "half_open"]
    failures_in_a_row: int
    open_until: str | None
    last_failure_code: str | None
    last_success_at: str | None


class Pause(_Shape):
    at: str
    by: str
    reason: str


class Window(_Shape):
    """Calls in a window of time: how many, the share answered, latency percentiles."""

    attempts: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Queue(_Shape):
    open: int
    waiting: int
    pending: int
    retries_scheduled: int
    awaiting_decision: int
    dead: int


class Department(_Shape):
    """A department's health: breaker, pause, queue, and calls over 5m, 1h and 1d."""

    code: str
    name: str
    adapter: str
    concurrency: int
    paused: Pause | None
    breaker: Breaker
    deliveries: Queue
    windows: dict[Literal["5m", "1h", "1d"], Window]
    p95_ms_per_5_minutes: list[float | None] = Field(
        description="p95 latency of each five minutes of the last hour, oldest first"
    )


class Departments(_Shape):
    items: list[Department]


class PauseRequest(_Shape):
    reason: str = Field(min_length=1, max_length=500, description="why, for the audit trail")


class PauseOutcome(_Shape):
    code: str
    paused: bool


class SyncLogEntry(Attempt):
    """A call to a department, with who it was for."""

    application_id: str
    delivery_id: str
    delivery_key: str
    step: str
    department: str
    worker: str


class SyncLog(_Shape):
    items: list[SyncLogEntry]
    next_cursor: int | None


class Event(_Shape):
    """A status event, as each SSE `data:` line carries it."""

    id: int
    application_id: str
    subject: Literal["application", "delivery"]
    delivery_id: str | None
    step: str | None
    department: str | None
    old: str | None
    new: str
    code: str | None
    message: str | None
    at: str


class CancelOutcome(_Shape):
    cancelled: list[str] = Field(description="steps cancelled at once: they never left the hub")
    asked: list[str] = Field(description="steps whose departments are being asked to withdraw")
    decided: list[str] = Field(description="steps already decided, left as they are")


class CorrectionOutcome(_Shape):
    resent: list[str]


class Replayed(_Shape):
    id: str
    state: Literal["pending"]


class CallbackApplied(_Shape):
    applied: bool
    reference: str
    state: str


class TrackMatter(_Shape):
    code: str
    name: str


class Words(_Shape):
    """A text in Chinese, with English beside it."""

    zh: str
    en: str


class TrackCorrection(_Shape):
    what: Words = Field(description="what the department asks to correct (一次性告知, art. 32)")
    by: str | None = Field(description="ISO date by which to correct, where the limit is known")


class TrackRefusal(_Shape):
    reason: Words
    remedies: Words = Field(
        description="the right to administrative review within 60 days or to sue within 6 "
        "months (Administrative Licensing Law art. 38)"
    )
    review_by: str = Field(description="last ISO day to apply for administrative review")
    litigation_by: str = Field(description="last ISO day to sue")


class TrackStep(_Shape):
    step: str
    department: str
    state: DeliveryState
    official: Words = Field(description="the state in the law's vocabulary (收件, 受理, 补正…)")
    decided_on: str | None
    due: str | None = Field(description="the step's own due date, where it has one")
    correction: TrackCorrection | None
    refusal: TrackRefusal | None


class Tracking(_Shape):
    """What the receipt's holder may see: no personal data."""

    reference: str
    matter: TrackMatter
    status: ApplicationStatus
    submitted_on: str
    due: Due
    steps: list[TrackStep]


class TimeLimitAct(_Shape):
    id: str
    kind: Literal["extension", "suspension"]
    days: int | None
    reason: str
    note: str | None
    by: str
    started_at: str
    ended_at: str | None


class TimeLimitOutcome(_Shape):
    """A supervisor's act and the application's limits after it."""

    act: TimeLimitAct
    due: Due


class ExtensionBody(_Shape):
    days: int = Field(ge=1, le=365, description="working days granted")
    reason: str = Field(min_length=1, max_length=500)


class SuspensionBody(_Shape):
    reason: Literal["hearing", "inspection", "testing", "quarantine", "expert_review"]
    note: str | None = Field(default=None, max_length=2000)


class SupervisedCase(ApplicationSummary):
    supervision: Literal["amber", "red"]
    since: str | None


class SupervisionPage(_Shape):
    items: list[SupervisedCase]
    next_cursor: str | None


class Health(_Shape):
    status: Literal["ok"]


class Readiness(_Shape):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
