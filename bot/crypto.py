"""Encryption of tokens at rest: Fernet keys, the first encrypts, all of them decrypt (rotation).

The tokens are `cryptography`'s Fernet tokens, made by `bot/fernet.py` without importing `cryptography`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.fernet import Fernet, InvalidToken, MultiFernet, generate_key

log = logging.getLogger(__name__)


class EncryptionKeyError(Exception):
    """The configured encryption keys cannot be used."""


class TokenCipher:
    """Encrypts and decrypts secrets with a list of Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise EncryptionKeyError("ENCRYPTION_KEY: no key given")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError as exc:
            raise EncryptionKeyError(
                "ENCRYPTION_KEY: each key must be 32 url-safe base64-encoded bytes"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise EncryptionKeyError(
                "a stored secret cannot be decrypted with the configured ENCRYPTION_KEY"
            ) from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the first key."""
        return self._fernet.rotate(ciphertext.encode()).decode()


def split_keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def load_or_create_key_file(path: Path) -> str:
    """Read the generated key, or create it readable by this process's user only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key().decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    log.warning("No ENCRYPTION_KEY set: generated one into %s (readable by this user only); back it up", path)
    return key
