"""the person behind a console session, for the audit trail

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(sa.Column("person", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("person")
