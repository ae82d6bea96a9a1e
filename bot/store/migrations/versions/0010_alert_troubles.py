"""Follow-ups under the alert they resolve: the builds each change alert told of as trouble,
and the follow_up kind.

Revision ID: 0010_alert_troubles
Revises: 0009_seen_compliance
Create Date: 2026-11-27

A rogue build that gains provenance, or a non-compliant one that turns compliant in place,
is said under the alert that told of it: alert_troubles finds that alert by fingerprint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_alert_troubles"
down_revision: str | None = "0009_seen_compliance"
branch_labels: str | None = None
depends_on: str | None = None

# As migration 0009 left them.
KINDS = (
    "change",
    "commits",
    "outage",
    "recovery",
    "mute_summary",
    "now_noncompliant",
    "now_compliant",
)
# The once-only key of 0007: SQLite's batch copy cannot carry an index over an expression,
# so it is dropped before the copy and made again after it.
ONCE: list[str | sa.TextClause] = [
    "channel_id",
    "env",
    "kind",
    sa.text("coalesce(incident_id, 0)"),
    "snapshot_index",
]


def _check(kinds: tuple[str, ...]) -> str:
    return "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))


def upgrade() -> None:
    op.create_table(
        "alert_troubles",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_trouble_alert"),
        sa.PrimaryKeyConstraint("alert_id", "fingerprint"),
    )
    op.create_index("ix_alert_troubles_fingerprint", "alert_troubles", ["fingerprint"])
    _kinds((*KINDS, "follow_up"))


def _kinds(kinds: tuple[str, ...]) -> None:
    op.drop_index("uq_alert_once", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("alert_kind", type_="check")
        batch.create_check_constraint("alert_kind", _check(kinds))
    op.create_index("uq_alert_once", "alerts", ONCE, unique=True)


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'follow_up'")
    _kinds(KINDS)
    op.drop_index("ix_alert_troubles_fingerprint", "alert_troubles")
    op.drop_table("alert_troubles")
