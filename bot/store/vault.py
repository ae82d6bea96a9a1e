"""Secrets at rest: every token the bot keeps in its database (installations' Slack tokens, each
workspace's Kosli API token) is encrypted with BOT_ENCRYPTION_KEY before it is written.

The key is a comma-separated list of Fernet keys, newest first: the first encrypts, every one
decrypts. A key rotates by putting a new one in front, `rotate`-ing the stored tokens, then
dropping the old one."""

from __future__ import annotations

import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultKeyInvalid(ValueError):
    """BOT_ENCRYPTION_KEY holds something that is not a Fernet key (never says what)."""


class VaultCannotDecrypt(Exception):
    """A stored secret was encrypted under a key no longer in BOT_ENCRYPTION_KEY (or it is not
    one of ours)."""


def parse_keys(keys: str) -> list[Fernet]:
    """The Fernet keys of a comma-separated list, newest first; raises VaultKeyInvalid saying
    which one (by position, never by value) is not a key."""
    parts = [part.strip() for part in keys.split(",") if part.strip()]
    if not parts:
        raise VaultKeyInvalid("holds no key")
    fernets = []
    for position, part in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(part.encode()))
        except (ValueError, binascii.Error):
            raise VaultKeyInvalid(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return fernets


class Vault:
    def __init__(self, keys: str) -> None:
        fernets = parse_keys(keys)
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "Vault(...)"  # the keys never show

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise VaultCannotDecrypt(
                "a stored secret does not decrypt with any key in BOT_ENCRYPTION_KEY"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Encrypted under the newest key (nothing to rotate)."""
        try:
            self._newest.decrypt(stored.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: str) -> str:
        """The same secret, encrypted under the newest key."""
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken:
            raise VaultCannotDecrypt(
                "a stored secret does not decrypt with any key in BOT_ENCRYPTION_KEY"
            ) from None
