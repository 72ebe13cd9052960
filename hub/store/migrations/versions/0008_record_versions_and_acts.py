"""record versions, who filed an application, repeated correction requests, acts' persons

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_versions",
        sa.Column("application_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("filed_by_client", sa.String(length=128), nullable=True),
        sa.Column("filed_by_person", sa.String(length=64), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_record_versions_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("application_id", "version", name=op.f("pk_record_versions")),
    )
    # What was filed before versions were kept: only the current record is known.
    op.execute(
        "INSERT INTO record_versions (application_id, version, record, filed_at)"
        " SELECT id, record_version, record, updated_at FROM applications"
    )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("filed_by_client", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("filed_by_person", sa.String(length=64), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("correction_requests", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("record_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("person", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("application_id", sa.String(length=26), nullable=True))
        batch.create_index(batch.f("ix_audit_log_action"), ["action"], unique=False)
        batch.create_index(batch.f("ix_audit_log_person"), ["person"], unique=False)
        batch.create_index(batch.f("ix_audit_log_application_id"), ["application_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index(batch.f("ix_audit_log_application_id"))
        batch.drop_index(batch.f("ix_audit_log_person"))
        batch.drop_index(batch.f("ix_audit_log_action"))
        batch.drop_column("application_id")
        batch.drop_column("person")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("record_version")
        batch.drop_column("correction_requests")
    # Before the applications table is rebuilt (SQLite): its versions refer to it.
    op.drop_table("record_versions")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("filed_by_person")
        batch.drop_column("filed_by_client")
