"""What the platform asks: /healthz (alive) and /readyz (the database answers too)."""

from __future__ import annotations

import sqlite3

import httpx

from tests.conftest import Bot


def test_health_check(bot: Bot) -> None:
    response = httpx.get(f"{bot.url}/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_readiness_says_when_the_database_is_gone(start_bot, tmp_path) -> None:
    database = tmp_path / "ready.db"
    bot = start_bot(database_url=f"sqlite:///{database}")
    assert httpx.get(f"{bot.url}/readyz").json() == {"ok": True, "database": "ok"}
    with sqlite3.connect(database) as connection:  # someone pointed it at the wrong database
        connection.execute("DROP TABLE alembic_version")
    gone = httpx.get(f"{bot.url}/readyz")
    assert gone.status_code == 503 and gone.json() == {"ok": False, "database": "not answering"}
    assert httpx.get(f"{bot.url}/healthz").status_code == 200  # alive, just not ready
