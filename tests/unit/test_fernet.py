"""bot/fernet.py makes and reads the tokens `cryptography.fernet` makes and reads, with either AES."""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys

import pytest
from cryptography import fernet as reference

from bot import fernet
from bot.crypto import EncryptionKeyError, TokenCipher

BACKENDS = {"openssl": fernet.aes_cbc(), "cryptography": fernet._cryptography_cbc}
SIZES = (0, 1, 15, 16, 17, 31, 32, 1000)


def test_on_linux_aes_comes_from_the_libcrypto_python_loaded() -> None:
    if sys.platform.startswith("linux"):
        assert fernet.libcrypto() is not None
        assert fernet.aes_cbc() is not fernet._cryptography_cbc


@pytest.mark.parametrize("backend", BACKENDS)
def test_tokens_are_read_both_ways_with_cryptography(backend: str) -> None:
    key = reference.Fernet.generate_key()
    ours, theirs = fernet.Fernet(key, BACKENDS[backend]), reference.Fernet(key)
    for size in SIZES:
        plaintext = (bytes(range(256)) * 4)[:size]
        assert theirs.decrypt(ours.encrypt(plaintext)) == plaintext
        assert ours.decrypt(theirs.encrypt(plaintext)) == plaintext
        assert ours.decrypt(theirs.encrypt(plaintext).decode()) == plaintext


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_token_or_another_key_is_refused(backend: str) -> None:
    key = fernet.generate_key()
    ours = fernet.Fernet(key, BACKENDS[backend])
    token = base64.urlsafe_b64decode(ours.encrypt(b"access-token"))
    for at in (0, 1, 9, 30, len(token) - 40, len(token) - 1):  # version, time, IV, ciphertext, MAC
        changed = bytearray(token)
        changed[at] ^= 0x01
        with pytest.raises(fernet.InvalidToken):
            ours.decrypt(base64.urlsafe_b64encode(bytes(changed)))
    for broken in (b"", b"not base64!", base64.urlsafe_b64encode(token[:40]), b"\x80" * 3):
        with pytest.raises(fernet.InvalidToken):
            ours.decrypt(broken)
    with pytest.raises(fernet.InvalidToken):
        fernet.Fernet(fernet.generate_key(), BACKENDS[backend]).decrypt(base64.urlsafe_b64encode(token))


def test_a_token_with_a_valid_mac_and_bad_padding_is_refused() -> None:
    """Only a key holder can make one; still, unpadding checks every padding byte."""
    key = fernet.generate_key()
    raw = base64.urlsafe_b64decode(key)
    signing, encryption = raw[:16], raw[16:]
    iv = bytes(16)
    body = fernet._HEADER.pack(fernet.VERSION, 0) + iv
    body += fernet.aes_cbc()(encryption, iv, b"x" * 14 + b"\x01\x02", True)
    token = base64.urlsafe_b64encode(body + hmac.digest(signing, body, hashlib.sha256))
    with pytest.raises(fernet.InvalidToken):
        fernet.Fernet(key).decrypt(token)
    with pytest.raises(reference.InvalidToken):
        reference.Fernet(key).decrypt(token)


def test_keys_that_are_not_32_base64_bytes_are_refused() -> None:
    for key in (b"", b"not-a-key", base64.urlsafe_b64encode(bytes(31)), base64.urlsafe_b64encode(bytes(33))):
        with pytest.raises(ValueError):
            fernet.Fernet(key)
        with pytest.raises(ValueError):
            reference.Fernet(key)


def test_rotation_keeps_the_time_a_token_was_made_like_cryptography() -> None:
    old, new = reference.Fernet.generate_key(), reference.Fernet.generate_key()
    made = reference.Fernet(old).encrypt_at_time(b"refresh-token", 1_700_000_000)
    rotated = fernet.MultiFernet([fernet.Fernet(new), fernet.Fernet(old)]).rotate(made)
    assert reference.Fernet(new).extract_timestamp(rotated) == 1_700_000_000
    assert reference.Fernet(new).decrypt(rotated) == b"refresh-token"


def test_secrets_stored_by_the_cryptography_cipher_still_decrypt() -> None:
    """Tokens in existing databases were made by `cryptography`'s MultiFernet."""
    old, new = reference.Fernet.generate_key(), reference.Fernet.generate_key()
    stored = reference.MultiFernet([reference.Fernet(old)]).encrypt(b"zoom-access-token").decode()
    cipher = TokenCipher([new.decode(), old.decode()])
    assert cipher.decrypt(stored) == "zoom-access-token"
    assert reference.Fernet(new).decrypt(cipher.encrypt("again")) == b"again"
    with pytest.raises(EncryptionKeyError):
        TokenCipher([new.decode()]).decrypt(stored)
