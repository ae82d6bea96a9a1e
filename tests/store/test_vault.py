"""The vault: tokens round-trip, a key rotates by adding a new one in front, a wrong key is a
named error."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.store.vault import Vault, VaultCannotDecrypt, VaultKeyInvalid

TOKEN = "xoxb-1111-2222-abcdefabcdefabcdef"


def new_key() -> str:
    return Fernet.generate_key().decode()


def test_a_token_reads_back_and_is_not_stored_in_the_clear() -> None:
    vault = Vault(new_key())
    stored = vault.encrypt(TOKEN)
    assert TOKEN not in stored
    assert vault.decrypt(stored) == TOKEN


def test_a_new_key_in_front_still_reads_tokens_of_the_old_and_rotate_moves_them() -> None:
    old, new = new_key(), new_key()
    stored_under_old = Vault(old).encrypt(TOKEN)
    both = Vault(f"{new}, {old}")
    assert both.decrypt(stored_under_old) == TOKEN
    assert not both.is_current(stored_under_old)
    rotated = both.rotate(stored_under_old)
    assert both.is_current(rotated)
    # Once rotated, the old key can go.
    assert Vault(new).decrypt(rotated) == TOKEN
    with pytest.raises(VaultCannotDecrypt):
        Vault(old).decrypt(rotated)


def test_a_wrong_key_is_a_named_error_that_shows_no_secret() -> None:
    stored = Vault(new_key()).encrypt(TOKEN)
    with pytest.raises(VaultCannotDecrypt) as error:
        Vault(new_key()).decrypt(stored)
    assert "BOT_ENCRYPTION_KEY" in str(error.value)
    assert TOKEN not in str(error.value) and stored not in str(error.value)


@pytest.mark.parametrize(
    "keys", ["", " , ", "not-a-key", f"{Fernet.generate_key().decode()},short"]
)
def test_what_is_not_a_fernet_key_is_refused_without_echoing_it(keys: str) -> None:
    with pytest.raises(VaultKeyInvalid) as error:
        Vault(keys)
    assert "short" not in str(error.value) and "not-a-key" not in str(error.value)
