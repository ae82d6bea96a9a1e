"""Alerts may wait for the git host: the commits of a change follow its alert.

Revision ID: 0006_alert_bisect
Revises: 0005_git_compares
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_alert_bisect"
down_revision: str | None = "0005_git_compares"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("bisect", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("bisect")
