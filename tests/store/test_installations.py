"""OAuth mode's storage: slack_sdk's installation and state tables as the migration makes
them, installations and Kosli connections read back through the Vault, and no token resting
in the clear."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, inspect

from bot.store.connections import KosliConnection, KosliConnections
from bot.store.database import Database
from bot.store.installations import Installations, OAuthStates, workspace_key
from bot.store.models import SEALED_COLUMNS, SEALED_LENGTH
from bot.store.store import Store
from bot.store.vault import Vault, VaultCannotDecrypt

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = Fernet.generate_key().decode()
CLIENT_ID = "1111.2222"


def installation(team: str, bot_token: str, enterprise: str | None = None) -> Installation:
    return Installation(
        app_id="A0KOSLIBOT",
        enterprise_id=enterprise,
        team_id=None if enterprise and team == enterprise else team,
        team_name=f"team {team}",
        bot_token=bot_token,
        bot_id="BKOSLI",
        bot_user_id="UKOSLIBOT",
        bot_scopes="commands,chat:write",
        user_id="UINSTALLER",
        user_token=f"xoxp-{team}-user-secret-token",
        is_enterprise_install=bool(enterprise and team == enterprise),
    )


def slack_sdk_tables() -> MetaData:
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


def test_the_migrated_slack_tables_have_the_columns_slack_sdk_reads_and_writes(
    store: Store,
) -> None:
    schema = inspect(store.engine)
    for table in slack_sdk_tables().sorted_tables:
        migrated = {c["name"]: c for c in schema.get_columns(table.name)}
        assert set(migrated) == set(table.c.keys()), table.name
        for column in table.c:
            found = migrated[column.name]
            assert found["nullable"] == column.nullable, (table.name, column.name)
            assert found["type"]._type_affinity is column.type._type_affinity, column.name
            wanted = getattr(column.type, "length", None)
            if column.name in SEALED_COLUMNS.get(table.name, ()):
                assert found["type"].length == SEALED_LENGTH  # the Vault's ciphertext is longer
            elif wanted is not None:
                assert found["type"].length == wanted, (table.name, column.name)
        indexes = {i["name"]: i["column_names"] for i in schema.get_indexes(table.name)}
        for index in table.indexes:
            assert indexes[index.name] == [c.name for c in index.columns]


async def test_an_installation_reads_back_with_its_tokens_and_by_workspace(store: Store) -> None:
    installs = Installations(store.engine, CLIENT_ID, Vault(KEY))
    await installs.async_save(installation("T1", "xoxb-t1-bot-secret-token"))
    await installs.async_save(installation("T2", "xoxb-t2-bot-secret-token"))

    found = await installs.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert (found.bot_token, found.user_token) == (
        "xoxb-t1-bot-secret-token",
        "xoxp-T1-user-secret-token",
    )
    bot = await installs.async_find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == "xoxb-t2-bot-secret-token"
    assert await installs.bot_token("T2") == "xoxb-t2-bot-secret-token"
    assert await installs.bot_token("T3") is None
    assert (await installs.installed("T1"), await installs.installed("")) == (True, False)


async def test_an_org_wide_install_is_found_by_its_enterprise_and_a_grid_team_by_its_team(
    store: Store,
) -> None:
    installs = Installations(store.engine, CLIENT_ID, Vault(KEY))
    await installs.async_save(installation("E1", "xoxb-org-wide-token", enterprise="E1"))
    await installs.async_save(installation("T7", "xoxb-grid-team-token", enterprise="E2"))
    assert await installs.bot_token("E1") == "xoxb-org-wide-token"
    assert await installs.bot_token("T7") == "xoxb-grid-team-token"
    assert await installs.bot_token("E2") is None  # only its team T7 installed the app
    assert workspace_key("E1", None, True) == "E1"
    assert workspace_key("E2", "T7", False) == "T7"


async def test_deleting_one_workspace_leaves_the_other(store: Store) -> None:
    installs = Installations(store.engine, CLIENT_ID, Vault(KEY))
    await installs.async_save(installation("T1", "xoxb-t1-bot-secret-token"))
    await installs.async_save(installation("T2", "xoxb-t2-bot-secret-token"))
    await installs.async_delete_all(enterprise_id=None, team_id="T1")
    assert await installs.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await installs.bot_token("T1") is None
    assert await installs.bot_token("T2") == "xoxb-t2-bot-secret-token"


async def test_a_kosli_connection_reads_back_and_goes(store: Store) -> None:
    connections = KosliConnections(Database(store.engine), Vault(KEY))
    acme = KosliConnection("acme", "https://app.kosli.com", "kosli-acme-secret")
    await connections.save("T1", acme, "U1", NOW)
    await connections.save(
        "T2", KosliConnection("beta", "http://127.0.0.1:1", "b-secret"), "U2", NOW
    )
    assert await connections.find("T1") == acme
    assert await connections.kosli_connection("T1") == acme
    assert "kosli-acme-secret" not in repr(acme)

    replaced = KosliConnection("acme-2", "https://app.us.kosli.com", "kosli-acme-new")
    await connections.save("T1", replaced, "U1", NOW)
    assert await connections.find("T1") == replaced
    assert await connections.delete("T1") is True
    assert await connections.delete("T1") is False
    assert await connections.find("T1") is None
    assert (await connections.find("T2")) is not None


async def test_a_token_under_a_key_no_longer_listed_is_a_named_error(store: Store) -> None:
    await KosliConnections(Database(store.engine), Vault(KEY)).save(
        "T1", KosliConnection("acme", "https://app.kosli.com", "kosli-acme-secret"), "U1", NOW
    )
    rotated = f"{Fernet.generate_key().decode()},{KEY}"
    assert await KosliConnections(Database(store.engine), Vault(rotated)).find("T1") is not None
    with pytest.raises(VaultCannotDecrypt):
        await KosliConnections(Database(store.engine), Vault(Fernet.generate_key().decode())).find(
            "T1"
        )


async def test_a_state_is_consumed_once(store: Store) -> None:
    states = OAuthStates(store.engine)
    state = await states.async_issue()
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("forged") is False


async def test_no_token_rests_in_the_database_file_in_the_clear(tmp_path: Path) -> None:
    from bot.store.migrate import open_store

    path = tmp_path / "bot.db"
    store = open_store(f"sqlite:///{path}")
    try:
        installs = Installations(store.engine, CLIENT_ID, Vault(KEY))
        connections = KosliConnections(Database(store.engine), Vault(KEY))
        await installs.async_save(installation("T1", "xoxb-t1-bot-secret-token"))
        await connections.save(
            "T1", KosliConnection("acme", "https://app.kosli.com", "kosli-acme-secret"), "U1", NOW
        )
        assert await installs.bot_token("T1") == "xoxb-t1-bot-secret-token"
    finally:
        store.engine.dispose()  # checkpoints the write-ahead log into the file
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("bot.db"))
    assert b"acme" in stored and b"UKOSLIBOT" in stored  # the rows are there
    for token in (b"xoxb-t1-bot-secret-token", b"xoxp-T1-user-secret-token", b"kosli-acme-secret"):
        assert token not in stored
    assert b"xoxb-" not in stored and b"xoxp-" not in stored


async def test_after_a_new_key_is_put_in_front_reseal_moves_every_token_to_it(
    store: Store,
) -> None:
    old, new = KEY, Fernet.generate_key().decode()
    await Installations(store.engine, CLIENT_ID, Vault(old)).async_save(
        installation("T1", "xoxb-t1-bot-secret-token")
    )
    await KosliConnections(Database(store.engine), Vault(old)).save(
        "T1", KosliConnection("acme", "https://app.kosli.com", "kosli-acme-secret"), "U1", NOW
    )
    both = Vault(f"{new},{old}")
    installs, connections = (
        Installations(store.engine, CLIENT_ID, both),
        KosliConnections(Database(store.engine), both),
    )
    assert (installs.reseal(), connections.reseal()) == (2, 1)  # installation and bot rows
    assert (installs.reseal(), connections.reseal()) == (0, 0)

    only_new = Vault(new)
    found = await Installations(store.engine, CLIENT_ID, only_new).async_find_installation(
        enterprise_id=None, team_id="T1"
    )
    assert found is not None
    assert (found.bot_token, found.user_token) == (
        "xoxb-t1-bot-secret-token",
        "xoxp-T1-user-secret-token",
    )
    assert await Installations(store.engine, CLIENT_ID, only_new).bot_token("T1") == (
        "xoxb-t1-bot-secret-token"
    )
    connection = await KosliConnections(Database(store.engine), only_new).find("T1")
    assert connection is not None and connection.api_token == "kosli-acme-secret"
