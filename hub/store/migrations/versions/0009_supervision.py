"""time-limit supervision: supervision state, suspensions, extensions (issue 18, part 4)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(
            sa.Column("supervision", sa.String(8), nullable=False, server_default="normal")
        )
        batch.add_column(sa.Column("supervision_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("supervision_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("extension_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_index("ix_applications_promised_due", ["promised_due"])
    op.create_table(
        "time_limit_acts",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("application_id", sa.String(26), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_time_limit_acts_application_id_applications",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_time_limit_acts"),
    )
    op.create_index("ix_time_limit_acts_application_id", "time_limit_acts", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_time_limit_acts_application_id", table_name="time_limit_acts")
    op.drop_table("time_limit_acts")
    with op.batch_alter_table("applications") as batch:
        batch.drop_index("ix_applications_promised_due")
        for column in (
            "extension_days",
            "suspended_at",
            "supervision_since",
            "supervision_due",
            "supervision",
        ):
            batch.drop_column(column)
