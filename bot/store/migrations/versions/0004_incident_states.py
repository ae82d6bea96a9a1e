"""Incidents as a small state machine: opening -> open -> closing -> closed.

Revision ID: 0004_incident_states
Revises: 0003_handled_events
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_incident_states"
down_revision: str | None = "0003_handled_events"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="open"))
        batch.add_column(sa.Column("closed_by", sa.String(64), nullable=True))
        # An incident's row is written before its parent is posted, so it has no ts yet.
        batch.alter_column("thread_ts", existing_type=sa.String(32), nullable=True)
    op.execute("UPDATE incidents SET state = 'closed' WHERE closed_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM incidents WHERE thread_ts IS NULL")
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("thread_ts", existing_type=sa.String(32), nullable=False)
        batch.drop_column("closed_by")
        batch.drop_column("state")
