"""status events, time limits, public tracking, polling, cancellation and corrections

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:35:38.493382
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks_seen",
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_callbacks_seen")),
    )
    with op.batch_alter_table("callbacks_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_seen_at"), ["at"], unique=False)

    op.create_table(
        "relay_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=128), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_relay_cursors")),
    )
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(length=26), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=True),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("old", sa.String(length=24), nullable=True),
        sa.Column("new", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
    )
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_events_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "track_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_failures")),
    )
    with op.batch_alter_table("track_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_track_failures_reference"), ["reference"], unique=False
        )

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("statutory_due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("promised_due", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("clock_stopped_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("record_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_applications_reference"), ["reference"])

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("polls_unchanged", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("corrections", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_deliveries_poll", ["next_poll_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_poll")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("corrections")
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("polls_unchanged")
        batch_op.drop_column("next_poll_at")

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_applications_reference"), type_="unique")
        batch_op.drop_column("record_version")
        batch_op.drop_column("clock_stopped_at")
        batch_op.drop_column("promised_due")
        batch_op.drop_column("statutory_due")
        batch_op.drop_column("reference")

    with op.batch_alter_table("track_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_track_failures_reference"))

    op.drop_table("track_failures")
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_events_application_id"))

    op.drop_table("status_events")
    op.drop_table("relay_cursors")
    with op.batch_alter_table("callbacks_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callbacks_seen_at"))

    op.drop_table("callbacks_seen")
