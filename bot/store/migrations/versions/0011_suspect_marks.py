"""Who marked which suspect of an incident as its cause or not it, and when; and the moment an
incident began (`incident ... at TIME`).

Revision ID: 0011_suspect_marks
Revises: 0010_alert_troubles
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011_suspect_marks"
down_revision: str | None = "0010_alert_troubles"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("incident_at", sa.DateTime(), nullable=True))
    op.create_table(
        "suspect_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("env", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("cause", sa.Boolean(), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_mark_incident"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_suspect_marks_incident_id", "suspect_marks", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_suspect_marks_incident_id", "suspect_marks")
    op.drop_table("suspect_marks")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("incident_at")
