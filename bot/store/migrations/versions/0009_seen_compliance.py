"""The compliance of the last snapshot seen, and the alerts for a snapshot Kosli answers later
with another compliance than it was read with.

Revision ID: 0009_seen_compliance
Revises: 0008_lookup_indexes
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_seen_compliance"
down_revision: str | None = "0008_lookup_indexes"
branch_labels: str | None = None
depends_on: str | None = None

KINDS = ("change", "commits", "outage", "recovery", "mute_summary")
# SQLite's batch mode copies the table and would lose this expression index: made again.
ONCE: list[str | sa.TextClause] = [
    "channel_id",
    "env",
    "kind",
    sa.text("coalesce(incident_id, 0)"),
    "snapshot_index",
]
REEVALUATED = ("now_noncompliant", "now_compliant")


def _kinds_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _replace_kinds(kinds: tuple[str, ...]) -> None:
    op.drop_index("uq_alert_once", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("alert_kind", type_="check")
        batch.create_check_constraint("alert_kind", _kinds_check(kinds))
    op.create_index("uq_alert_once", "alerts", ONCE, unique=True)


def upgrade() -> None:
    with op.batch_alter_table("watched_envs") as batch:
        batch.add_column(sa.Column("last_seen_compliant", sa.Boolean(), nullable=True))
    _replace_kinds(KINDS + REEVALUATED)


def downgrade() -> None:
    op.execute(
        "DELETE FROM alerts WHERE kind IN (" + ", ".join(f"'{k}'" for k in REEVALUATED) + ")"
    )
    _replace_kinds(KINDS)
    with op.batch_alter_table("watched_envs") as batch:
        batch.drop_column("last_seen_compliant")
