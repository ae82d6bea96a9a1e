"""The git host's compare answers, kept: what lies between two commits never changes.

Revision ID: 0005_git_compares
Revises: 0004_incident_states
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_git_compares"
down_revision: str | None = "0004_incident_states"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "git_compares",
        sa.Column("repository", sa.String(512), nullable=False),
        sa.Column("base", sa.String(40), nullable=False),
        sa.Column("head", sa.String(40), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("repository", "base", "head"),
    )


def downgrade() -> None:
    op.drop_table("git_compares")
