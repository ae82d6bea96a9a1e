"""Indexes for the watcher's two lookups that grew with the data: an environment's watchers,
and the unsent alerts among every alert ever sent.

Revision ID: 0008_lookup_indexes
Revises: 0007_typed_outbox
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision: str = "0008_lookup_indexes"
down_revision: str | None = "0007_typed_outbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_subscriptions_env", "subscriptions", ["env"])
    op.create_index("ix_alerts_state", "alerts", ["state"])


def downgrade() -> None:
    op.drop_index("ix_alerts_state", "alerts")
    op.drop_index("ix_subscriptions_env", "subscriptions")
