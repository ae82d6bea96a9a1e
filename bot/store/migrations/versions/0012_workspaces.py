"""Every row of the watcher's state belongs to a workspace: subscriptions, watched
environments, alerts and incidents gain a `workspace` column ("" for the rows written before,
single-workspace mode's key), and their unique keys lead with it.

Revision ID: 0012_workspaces
Revises: 0011_suspect_marks
Create Date: 2026-11-27

Leases need no column: a workspace's leases carry its key in their name. handled_events and
git_compares stay global (Slack's event ids and a repository's commits are the same for all).
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision: str = "0012_workspaces"
down_revision: str | None = "0011_suspect_marks"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("subscriptions", "watched_envs", "alerts", "incidents")
# The once-only key, an index over an expression: SQLite's batch copy cannot carry one
# over, so it is dropped before the copy and made again after it (as in 0010).
ONCE: list[str | sa.TextClause] = [
    "channel_id",
    "env",
    "kind",
    sa.text("coalesce(incident_id, 0)"),
    "snapshot_index",
]


def _column() -> sa.Column[str]:
    return sa.Column("workspace", sa.String(length=64), nullable=False, server_default="")


def upgrade() -> None:
    op.drop_index("uq_alert_once", "alerts")
    op.drop_index("ix_subscriptions_env", "subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(_column())
        batch.drop_constraint("uq_subscription", type_="unique")
        batch.create_unique_constraint("uq_subscription", ["workspace", "channel_id", "env"])
    op.create_index("ix_subscriptions_workspace_env", "subscriptions", ["workspace", "env"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(_column())
        batch.drop_constraint("uq_incident_thread", type_="unique")
        batch.create_unique_constraint(
            "uq_incident_thread", ["workspace", "channel_id", "thread_ts"]
        )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(_column())
    op.create_index("uq_alert_once", "alerts", ["workspace", *ONCE], unique=True)
    _watched_envs_keyed_by(["workspace", "env"], add=True)


def _watched_envs_keyed_by(key: list[str], add: bool) -> None:
    """The primary key changes: PostgreSQL drops and makes it in place; SQLite's batch copy
    takes the new one (its reflected key has no name to drop)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint("watched_envs_pkey", "watched_envs", type_="primary")
    with (
        warnings.catch_warnings(),
        op.batch_alter_table("watched_envs", recreate="auto" if postgres else "always") as batch,
    ):
        # The copy's columns still say the old key, and SQLAlchemy warns it takes the new one.
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_watched_envs' specifies columns")
        if add:
            batch.add_column(_column())
        else:
            batch.drop_column("workspace")
        batch.create_primary_key("watched_envs_pkey", key)


def downgrade() -> None:
    # Back to one workspace: only single-workspace mode's rows ("") can stay.
    others = "workspace <> ''"
    op.execute(
        f"DELETE FROM alert_troubles WHERE alert_id IN (SELECT id FROM alerts WHERE {others})"
    )
    op.execute(
        f"DELETE FROM suspect_marks WHERE incident_id IN (SELECT id FROM incidents WHERE {others})"
    )
    for table in TABLES:  # alerts (which refer to incidents) before incidents
        op.execute(f"DELETE FROM {table} WHERE {others}")
    _watched_envs_keyed_by(["env"], add=False)
    op.drop_index("uq_alert_once", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("workspace")
    op.create_index("uq_alert_once", "alerts", ONCE, unique=True)
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint("uq_incident_thread", type_="unique")
        batch.create_unique_constraint("uq_incident_thread", ["channel_id", "thread_ts"])
        batch.drop_column("workspace")
    op.drop_index("ix_subscriptions_workspace_env", "subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("uq_subscription", type_="unique")
        batch.create_unique_constraint("uq_subscription", ["channel_id", "env"])
        batch.drop_column("workspace")
    op.create_index("ix_subscriptions_env", "subscriptions", ["env"])
