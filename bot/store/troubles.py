"""Which alert told a channel of a build's trouble (rogue or non-compliant), so the follow-up
that resolves it (provenance arrived, compliant again) replies under that alert."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import Alert, AlertState, AlertTrouble


def record_troubles(session: Session, alert_id: int, fingerprints: Iterable[str]) -> None:
    session.add_all(AlertTrouble(alert_id=alert_id, fingerprint=f) for f in set(fingerprints))


def trouble_alert(
    session: Session, workspace: str, channel: str, env: str, fingerprints: tuple[str, ...]
) -> tuple[int, str] | None:
    """(id, ts) of the posted channel alert that last told of every one of `fingerprints`;
    None when it is not posted (yet, or ever), or they were told in different alerts."""
    rows = session.execute(
        select(AlertTrouble.fingerprint, Alert.id, Alert.slack_ts)
        .join(Alert, Alert.id == AlertTrouble.alert_id)
        .where(
            AlertTrouble.fingerprint.in_(fingerprints),
            Alert.workspace == workspace,
            Alert.channel_id == channel,
            Alert.env == env,
            Alert.incident_id.is_(None),
            Alert.state == AlertState.SENT,
        )
        .order_by(Alert.id.desc())
    )
    newest: dict[str, tuple[int, str]] = {}
    for fingerprint, alert_id, ts in rows:
        if ts is not None:
            newest.setdefault(fingerprint, (alert_id, ts))
    parents = set(newest.values())
    if len(newest) != len(set(fingerprints)) or len(parents) != 1:
        return None
    return parents.pop()
