"""The store's tables. Schema changes go through an Alembic migration in migrations/versions/."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from hub.store.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

applications = Table(
    "applications",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("matter", String(64), nullable=False, index=True),
    Column("status", String(24), nullable=False, index=True),
    Column("record", JSON, nullable=False),
    # The frontend's Idempotency-Key (scoped by client) and the hash of the body it came with.
    Column("idempotency_key", String(300), unique=True),
    Column("request_sha256", String(64)),
    # Printed on the applicant's receipt with a query code derived from it (hub.tracking).
    Column("reference", String(24), unique=True),
    # Time limits in working days, as due dates; the clock stops while a correction is owed.
    Column("statutory_due", Date),
    Column("promised_due", Date),
    Column("clock_stopped_at", UtcDateTime),
    Column("record_version", Integer, nullable=False, default=1, server_default="1"),
    # The window (API client) and the clerk (its X-Hub-Actor) that filed it.
    Column("filed_by_client", String(128)),
    Column("filed_by_person", String(64)),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    # 效能监察 (hub.delivery.supervision): normal, amber or red, as last recorded (so each change
    # is announced once), the promised date it was judged against, and since when.
    Column("supervision", String(8), nullable=False, default="normal", server_default="normal"),
    Column("supervision_due", Date),
    Column("supervision_since", UtcDateTime),
    # A suspension (art. 45: hearing, inspection, expert review) stops the clock like a
    # correction; the working days an approved extension (art. 42) added, in all.
    Column("suspended_at", UtcDateTime),
    Column("extension_days", Integer, nullable=False, default=0, server_default="0"),
    # The periodic supervision check reads the undecided applications due soon by this.
    Index("ix_applications_promised_due", "promised_due"),
)

# Time-limit acts of the center's supervisors: extensions and suspensions, with who and why.
time_limit_acts = Table(
    "time_limit_acts",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # extension, suspension
    Column("days", Integer),  # an extension's working days
    Column("reason", Text, nullable=False),
    Column("note", Text),
    Column("by", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),  # a suspension's resumption
)

# Every version of an application's record: the filing is version 1, each correction the next.
record_versions = Table(
    "record_versions",
    metadata,
    Column("application_id", ForeignKey("applications.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("record", JSON, nullable=False),
    Column("filed_by_client", String(128)),
    Column("filed_by_person", String(64)),
    Column("filed_at", UtcDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("department", String(64), nullable=False, index=True),
    Column("operation", String(64), nullable=False),
    Column("delivery_key", String(64), nullable=False, unique=True),
    Column("state", String(24), nullable=False),
    # The plan is frozen at submission: a catalog change later does not rewire a filing.
    Column("after", JSON, nullable=False),
    Column("uses", JSON, nullable=False),
    Column("inputs", JSON),
    Column("payload", LargeBinary),
    Column("payload_operation", String(200)),
    Column("payload_content_type", String(200)),
    Column("payload_sha256", String(64)),
    Column("receipt_reference", String(128)),
    Column("outputs", JSON),
    Column("department_code", String(64)),
    Column("department_message", Text),
    Column("attempts", Integer, nullable=False, default=0),
    # The attempt count at the last replay: a replayed dead letter gets a fresh retry budget.
    Column("retry_base", Integer, nullable=False, default=0, server_default="0"),
    Column("first_attempt_at", UtcDateTime),
    Column("next_poll_at", UtcDateTime),
    Column("polls_unchanged", Integer, nullable=False, default=0, server_default="0"),
    Column("cancel_requested_at", UtcDateTime),
    Column("corrections", Integer, nullable=False, default=0, server_default="0"),
    # How often the department asked for a correction: past one, the request was repeated
    # (everything to correct is to be told at once), which supervisors are shown.
    Column("correction_requests", Integer, nullable=False, default=0, server_default="0"),
    # The record version its payload was built from (NULL until built): a correction resends
    # a new payload, and only the payload says what the department was actually sent.
    Column("record_version", Integer),
    Column("decided_at", UtcDateTime),
    Column("next_attempt_at", UtcDateTime),
    # Set while a send may have reached the department without our knowing: before sending
    # again, the hub asks the adapter's lookup (where it has one) whether it already arrived.
    Column("in_doubt", Boolean, nullable=False, default=False),
    Column("locked_by", String(128)),
    Column("locked_until", UtcDateTime),
    Column("last_error_code", String(128)),
    Column("last_error_message", Text),
    # What the operators should know of the delivery, e.g. {"unrepresentable": {field: chars}}:
    # characters its department takes but cannot store (its [text] setting says flag).
    Column("flags", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_deliveries_claim", "state", "next_attempt_at"),
    Index("ix_deliveries_poll", "next_poll_at"),
    # A claim's kinds of due work, each read in the order it is taken (see store.deliveries).
    Index("ix_deliveries_department_due", "department", "state", "next_attempt_at", "created_at"),
    Index("ix_deliveries_department_poll", "department", "state", "next_poll_at"),
    Index("ix_deliveries_department_cancel", "department", "cancel_requested_at"),
    Index("ix_deliveries_department_lease", "department", "locked_until"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("application_id", String(26), nullable=False, index=True),
    Column("department", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("duration_ms", Float),
    # NULL while the call is in flight: a row left NULL by a crash means "outcome unknown".
    Column("outcome", String(16)),
    Column("error_code", String(128)),
    Column("error_message", Text),
    Column("http_status", Integer),
    Column("fault_code", String(128)),
    Column("request_bytes", Integer),
    Column("response_bytes", Integer),
    Column("request_sha256", String(64)),
    Column("response_sha256", String(64)),
    Column("payload_sha256", String(64)),
    Index("ix_attempts_department_started", "department", "started_at"),
)

breakers = Table(
    "breakers",
    metadata,
    Column("department", String(64), primary_key=True),
    Column("state", String(16), nullable=False),  # closed, open, half_open
    Column("failures", Integer, nullable=False),  # in a row
    Column("open_until", UtcDateTime),
    Column("probe_by", String(128)),  # the worker whose call decides a half-open breaker
    Column("last_failure_code", String(128)),
    Column("last_success_at", UtcDateTime),
    Column("changed_at", UtcDateTime, nullable=False),
)

status_events = Table(
    "status_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(26), nullable=False, index=True),
    Column("delivery_id", String(26)),
    Column("step", String(64)),
    Column("department", String(64)),
    Column("old", String(24)),
    Column("new", String(24), nullable=False),
    Column("code", String(64)),  # the department's own status or error code
    Column("message", Text),
    Column("at", UtcDateTime, nullable=False),
)

relay_cursors = Table(
    "relay_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
    Column("locked_by", String(128)),
    Column("locked_until", UtcDateTime),
)

callbacks_seen = Table(
    "callbacks_seen",
    metadata,
    Column("signature", String(128), primary_key=True),
    Column("department", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False, index=True),
)

track_failures = Table(
    "track_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(24), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
)

# The audit trail: append-only, each entry chained to the one before by its hash.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),  # the client (or the hub, a department)
    Column("action", String(64), nullable=False, index=True),
    Column("subject", String(128)),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # The person who acted for the client (the window's clerk, the operator at the shell).
    Column("person", String(64), index=True),
    Column("application_id", String(26), index=True),
)

# One row: the newest entry's id and hash. Appends lock it, so the chain never forks; a deleted
# newest entry shows as a head that points at nothing.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

department_pauses = Table(
    "department_pauses",
    metadata,
    Column("department", String(64), primary_key=True),
    Column("paused_at", UtcDateTime, nullable=False),
    Column("paused_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("client", String(128), nullable=False),
    # The name the operator gave at login: the session's acts are audited under it.
    Column("person", String(64)),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)
