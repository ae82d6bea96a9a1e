"""A typed outbox: kinds and states checked by the database, the incident and the parent
alert as columns with foreign keys, and the commits between two builds named so.

Revision ID: 0007_typed_outbox
Revises: 0006_alert_bisect
Create Date: 2026-11-28

Before, the kind carried the incident ('thread/7', 'bisect/7') and a 'bisect' row found its
alert by rebuilding that alert's kind. Now 'thread/7' is a change with incident_id 7, a
'bisect' row is a commits row whose parent_id is its alert, and the unique key names the
incident in its own column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_typed_outbox"
down_revision: str | None = "0006_alert_bisect"
branch_labels: str | None = None
depends_on: str | None = None

KINDS = ("change", "commits", "outage", "recovery", "mute_summary")
STATES = ("pending", "sending", "sent", "waiting", "summarised", "parked", "dropped")
ONCE: list[str | sa.TextClause] = [
    "channel_id",
    "env",
    "kind",
    sa.text("coalesce(incident_id, 0)"),
    "snapshot_index",
]
# The change alert a commits row replies under: same place, same snapshot, same incident.
PARENT = (
    "UPDATE alerts SET parent_id = (SELECT parent.id FROM alerts parent"
    " WHERE parent.kind = 'change' AND parent.channel_id = alerts.channel_id"
    " AND parent.env = alerts.env AND parent.snapshot_index = alerts.snapshot_index"
    " AND coalesce(parent.incident_id, 0) = coalesce(alerts.incident_id, 0))"
    " WHERE alerts.kind = 'commits'"
)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    # The old key would refuse 'thread/7' and 'thread/8' both becoming 'change'.
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alert_once", type_="unique")
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.alter_column("bisect", new_column_name="commits", existing_type=sa.JSON())
    op.execute(
        "UPDATE alerts SET incident_id = CAST(substr(kind, 8) AS INTEGER)"
        " WHERE kind LIKE 'thread/%' OR kind LIKE 'bisect/%'"
    )
    op.execute("UPDATE alerts SET kind = 'change' WHERE kind LIKE 'thread/%'")
    op.execute("UPDATE alerts SET kind = 'commits' WHERE kind LIKE 'bisect%'")
    op.execute(PARENT)
    with op.batch_alter_table("alerts") as batch:
        batch.create_check_constraint("alert_kind", f"kind IN ({_listed(KINDS)})")
        batch.create_check_constraint("alert_state", f"state IN ({_listed(STATES)})")
        batch.create_foreign_key("fk_alert_incident", "incidents", ["incident_id"], ["id"])
        batch.create_foreign_key("fk_alert_parent", "alerts", ["parent_id"], ["id"])
    op.create_index("uq_alert_once", "alerts", ONCE, unique=True)


def downgrade() -> None:
    op.drop_index("uq_alert_once", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("fk_alert_parent", type_="foreignkey")
        batch.drop_constraint("fk_alert_incident", type_="foreignkey")
        batch.drop_constraint("alert_state", type_="check")
        batch.drop_constraint("alert_kind", type_="check")
    op.execute("UPDATE alerts SET kind = 'bisect' WHERE kind = 'commits'")
    op.execute(
        "UPDATE alerts SET kind = CASE kind WHEN 'change' THEN 'thread/' ELSE 'bisect/' END"
        " || CAST(incident_id AS VARCHAR(16)) WHERE incident_id IS NOT NULL"
    )
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("commits", new_column_name="bisect", existing_type=sa.JSON())
        batch.drop_column("parent_id")
        batch.drop_column("incident_id")
        batch.create_unique_constraint(
            "uq_alert_once", ["channel_id", "env", "kind", "snapshot_index"]
        )
